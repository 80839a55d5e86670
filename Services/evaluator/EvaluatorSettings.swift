import Foundation
import LanguageModel
import PolicyTraining

/// What an evaluation is, besides the checkpoint and the split: the same settings give the same
/// responses and measures, so (checkpoint, split, settings) is evaluated once. Their hash names the
/// configuration in `evaluation_runs.evaluator_config`.
struct EvaluatorSettings: Codable, Sendable, Equatable {
    var sampling = PolicyEvaluation.Sampling()
    /// Queries per split (the first by query id); nil: the whole split.
    var limit: Int?
    /// `warm-start` (the checkpoint's warm start), `none`, or a checkpoint id.
    var baseline = "warm-start"
    /// Whether responses go to the critic replicas for a PRM score.
    var critic = true
    /// The judge of the eight checks.
    var judge = "builtin"

    enum CodingKeys: String, CodingKey { case sampling, limit, baseline, critic, judge }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    var fingerprint: String { FNV1a.hex(json.utf8) }

    /// The id of the evaluation of `checkpoint` on `split` under these settings.
    func evaluationID(checkpoint: String, split: String) -> String {
        "eval-" + FNV1a.hex("\(checkpoint)|\(split)|\(fingerprint)".utf8)
    }
}
