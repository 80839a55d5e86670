/// Which model a checkpoint holds (Avro enum `cdra.events.ModelKind`).
public enum ModelKind: String, Codable, Sendable, Equatable, CaseIterable {
    /// The policy being aligned.
    case policy
    /// The Pers-GenPRM critic.
    case prm
}
