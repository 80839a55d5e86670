import Critique
import Events

/// Stands in for a backend that cannot answer (no checkpoint yet, a backend not built in): every
/// request gets a `failed` reply with the reason, so requesters learn it at once instead of
/// waiting for their deadline.
struct UnavailableCritic: CriticBackend {
    let name: String
    let reason: String
    var checkpointID: String? { nil }

    func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        requests.map { _ in .failed(reason) }
    }
}
