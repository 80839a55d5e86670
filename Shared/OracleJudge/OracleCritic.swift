import Critique
import DeepPref
import Events

/// The critic's `oracle` backend: the step oracle behind the ``CriticBackend`` interface. It needs
/// each request's council annotation, which `lookup` fetches (from PostgreSQL in the service) for
/// a whole micro-batch at once; a request whose query has no annotation is answered `failed`.
public struct OracleCritic: CriticBackend {
    public let name = "oracle"
    public let checkpointID: String? = nil
    public let oracle: StepOracle
    private let lookup: @Sendable ([String]) async throws -> [String: AnnotatedQuery]

    public init(pack: KnowledgePack, lookup: @escaping @Sendable ([String]) async throws -> [String: AnnotatedQuery]) {
        oracle = StepOracle(pack: pack)
        self.lookup = lookup
    }

    public func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        let found = try await lookup(Array(Set(requests.map(\.queryID))).sorted())
        return requests.map { request in
            guard var item = found[request.queryID] else {
                return .failed("no council annotation for query '\(request.queryID.prefix(80))'; the oracle judges only annotated queries")
            }
            // Judge against the profile and question the request carries.
            item.query.profile = request.profile
            item.query.question = request.question
            let chain = oracle.critique(item, steps: request.steps, answer: request.answer)
            return .scored(chain, text: chain.text, attempts: 1)
        }
    }
}
