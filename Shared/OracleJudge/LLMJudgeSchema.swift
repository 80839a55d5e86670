import ChatCompletions
import Council
import Foundation

/// Validates the judge's JSON reply: the eight checks as booleans (strings "true"/"false" are
/// repaired), `rationale` as an object of strings (a check without a rationale gets ""),
/// `addressed_dimensions` as an optional list of dimension names.
public enum LLMJudgeSchema {
    public static func validate(_ object: [String: Any]) -> Result<JudgeVerdict, SchemaViolation> {
        let check = JSONFieldCheck()
        var flags: [String: Bool] = [:]
        for name in LLMJudgePrompts.judgeChecks {
            if let value = check.bool(object, name, at: "$") { flags[name] = value }
        }
        var rationale: [String: String] = [:]
        if let raw = object["rationale"], !(raw is NSNull) {
            if let fields = raw as? [String: Any] {
                for (key, value) in fields {
                    guard let text = value as? String else { check.problem("$.rationale.\(key) must be a string"); continue }
                    rationale[LLMCouncilSchema.snakeCase(key)] = text.trimmingCharacters(in: .whitespacesAndNewlines)
                }
            } else {
                check.problem("$.rationale must be an object with one sentence per check")
            }
        } else {
            check.problem("$.rationale is missing (an object with one sentence per check is required)")
        }
        for name in LLMJudgePrompts.judgeChecks where rationale[name] == nil { rationale[name] = "" }
        let dimensions = (check.strings(object, "addressed_dimensions", at: "$", required: false) ?? [])
            .compactMap { LLMCouncilSchema.dimensionName($0, at: "$.addressed_dimensions", check) }
        guard check.problems.isEmpty, flags.count == LLMJudgePrompts.judgeChecks.count else {
            return .failure(SchemaViolation(check.problems))
        }
        return .success(JudgeVerdict(
            acknowledgesPreference: flags["acknowledges_preference"]!, violatesPreference: flags["violates_preference"]!,
            hallucinatesPreference: flags["hallucinates_preference"]!, helpful: flags["helpful"]!,
            innovative: flags["innovative"]!, misleading: flags["misleading"]!, deepMining: flags["deep_mining"]!,
            thoughtful: flags["thoughtful"]!, addressedDimensions: dimensions, rationale: rationale))
    }
}
