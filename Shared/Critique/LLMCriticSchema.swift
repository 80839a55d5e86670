import ChatCompletions
import Events
import Foundation

/// The JSON shape of the LLM critic's reply, and its conversion to a ``CritiqueChain``:
///
/// ```json
/// {"step_verdicts": [{"critique": "Reads the wish to keep family informed.", "score": 0.7}],
///  "answer_verdict": {"critique": "Offers no check-in alternative.", "score": -0.5},
///  "final_score": -0.4}
/// ```
///
/// Exactly one verdict per step of the request, every score in [−1, 1], every critique non-empty.
/// Nothing is repaired into a score: a reply that does not fit is a ``SchemaViolation``.
public enum LLMCriticSchema {
    /// The `json_schema` for a response of `steps` steps: `step_verdicts` has exactly that many
    /// items (minItems = maxItems), so a constrained decoder can write neither more nor fewer.
    public static func outputFormat(steps: Int) -> ResponseFormat {
        let verdict = JSONSchema.object([
            .init("critique", .string(minLength: 1, maxLength: 400)),
            .init("score", .number(minimum: -1, maximum: 1)),
        ])
        return .jsonSchema(name: "critique_chain", schema: .object([
            .init("step_verdicts", .array(items: verdict, minItems: steps, maxItems: steps)),
            .init("answer_verdict", verdict),
            .init("final_score", .number(minimum: -1, maximum: 1)),
        ]))
    }

    /// The chain in `text` (a model reply: code fences and prose around the object are tolerated),
    /// judging exactly `steps` steps. Critiques are put on one line, so that the chain's text form
    /// (``CritiqueChain/text``) reads back with ``CritiqueChainParser``; that is checked too.
    public static func chain(from text: String, steps: Int) -> Result<CritiqueChain, SchemaViolation> {
        let object: [String: Any]
        do {
            object = try ModelReplyJSON.extractObject(from: text)
        } catch let error as ModelReplyJSON.ExtractionError {
            return .failure(SchemaViolation([error.reason]))
        } catch {
            return .failure(SchemaViolation(["\(error)"]))
        }
        let check = JSONFieldCheck()
        var verdicts: [StepVerdict] = []
        if let items = check.array(object, "step_verdicts", at: "$", count: steps...steps) {
            for (i, item) in items.enumerated() {
                let path = "$.step_verdicts[\(i)]"
                guard let fields = item as? [String: Any] else { check.problem("\(path) must be an object"); continue }
                let critique = check.string(fields, "critique", at: path)
                let score = check.number(fields, "score", at: path, in: -1...1)
                if let critique, let score {
                    verdicts.append(StepVerdict(index: i + 1, critique: oneLine(critique), score: score))
                }
            }
        }
        var answer: AnswerVerdict? = nil
        if let fields = object["answer_verdict"] as? [String: Any] {
            let critique = check.string(fields, "critique", at: "$.answer_verdict")
            let score = check.number(fields, "score", at: "$.answer_verdict", in: -1...1)
            if let critique, let score { answer = AnswerVerdict(critique: oneLine(critique), score: score) }
        } else {
            check.problem("$.answer_verdict is missing (an object with critique and score is required)")
        }
        let finalScore = check.number(object, "final_score", at: "$", in: -1...1)
        guard check.problems.isEmpty, let answer, let finalScore else {
            return .failure(SchemaViolation(check.problems.isEmpty ? ["$ is incomplete"] : check.problems))
        }
        let chain = CritiqueChain(stepVerdicts: verdicts, answerVerdict: answer, finalScore: finalScore)
        do {
            _ = try CritiqueChainParser(expectedSteps: steps).parse(chain.text)
        } catch {
            return .failure(SchemaViolation(["the chain's text form does not read back: \(error)"]))
        }
        return .success(chain)
    }

    /// White space runs (line breaks included) as single spaces.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
