/// How a critique request ended (Avro enum `cdra.events.CritiqueStatus`).
public enum CritiqueStatus: String, Codable, Sendable, Equatable, CaseIterable {
    /// The critique chain parsed; every verdict and the final score are present.
    case ok
    /// The critic's generation could not be parsed even after retries; it is reported, never scored.
    case malformed
    /// The critic could not produce a critique at all (e.g. an endpoint error, an expired deadline).
    case failed
}
