/// The training procedure that produced a checkpoint (Avro enum `cdra.events.TrainingAlgorithm`).
public enum TrainingAlgorithm: String, Codable, Sendable, Equatable, CaseIterable {
    /// Supervised warm start of the policy on council reference chains.
    case sft
    /// The GRPO baseline (sequence-level advantages).
    case grpo
    /// Critique-Driven Policy Alignment (token-level advantages from step verdicts).
    case cdpa
    /// Supervised fine-tuning of the PRM on oracle critiques.
    case prmSFT = "prm_sft"
}
