import Foundation
import PolicyOptimization

/// Everything besides the weights and the optimizer moments that a resumed run needs to continue
/// exactly: where it is, where the data cursor stands, the seeds of the next step, the guard.
public struct TrainerState: Codable, Sendable, Equatable {
    /// RL steps done.
    public var step = 0
    /// Prompts drawn from the train order so far (the data cursor).
    public var cursor = 0
    /// The sampling seed of the next step (derived from the run seed and the step; stored so a
    /// resume can check it continues the same stream).
    public var nextSamplingSeed: UInt64 = 0
    /// The PRM checkpoint requests name after a refresh; nil: the critics' current one.
    public var criticCheckpointID: String?
    public var hackingGuard: HackingGuard
    /// The SFT checkpoint the run began from (also the frozen reference policy).
    public var warmStartID: String
    /// Why the run stopped before its last step (the guard's refresh limit), stored with its last
    /// checkpoint so that starting it again reports the stop instead of training on. nil: not stopped.
    public var stopped: String?

    public init(hackingGuard: HackingGuard, warmStartID: String, seed: UInt64) {
        self.hackingGuard = hackingGuard
        self.warmStartID = warmStartID
        nextSamplingSeed = Self.samplingSeed(seed: seed, step: 1)
    }

    /// The sampling seed of RL step `step` of a run seeded `seed`: every step's randomness is a
    /// function of the two, so a resumed step draws what the uninterrupted one drew.
    public static func samplingSeed(seed: UInt64, step: Int) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(step &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
