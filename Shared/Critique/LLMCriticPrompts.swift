import ChatCompletions
import Events

/// The prompt the LLM critic sends: an evaluator that judges every step of a response for one user,
/// then the answer, then the whole, in the JSON shape ``LLMCriticSchema`` checks (and, where the
/// endpoint takes it, constrains). Docs/council-llm.md shows the shape.
public enum LLMCriticPrompts {
    public static let system = """
        You evaluate how well a response serves one particular user, step by step, as a process reward \
        model does. You receive the user's profile and stated preference, the user's question, the \
        response's reasoning as numbered steps, and the response's final answer.
        For every step, in order, judge whether it reads the request and the preferences behind it \
        correctly (stated ones and the ones the wording implies) and whether it moves towards an answer \
        that respects them. Then judge the answer, then score the response as a whole. For each verdict \
        write the critique first, one or two sentences, then the score.
        \(ScoreBands.promptText)

        Reply with only one JSON object, no code fences and no other text:
        {"step_verdicts": [{"critique": "...", "score": 0.7}, {"critique": "...", "score": -0.6}], \
        "answer_verdict": {"critique": "...", "score": -0.5}, "final_score": -0.4}
        "step_verdicts" holds exactly one verdict per step, in step order.
        """

    public static func user(_ request: CritiqueRequested) -> String {
        let profile = request.profile
        var lines = [
            "Stated preference: \(profile.statedPreference.isEmpty ? "(none)" : profile.statedPreference)",
        ]
        if let risk = profile.riskTolerance { lines.append("Risk tolerance: \(risk)") }
        lines.append("Question: \(request.question)")
        if request.steps.isEmpty {
            lines.append("The response has no reasoning steps, so step_verdicts is an empty list.")
        } else {
            lines.append("The response's \(request.steps.count) steps:")
            for (i, step) in request.steps.enumerated() { lines.append("Step \(i + 1): \(step)") }
        }
        lines.append("Answer: \(request.answer.isEmpty ? "(none)" : request.answer)")
        lines.append("Give exactly \(request.steps.count) step verdict\(request.steps.count == 1 ? "" : "s"), "
                     + "then the answer verdict, then the final score.")
        return lines.joined(separator: "\n")
    }

    public static func messages(for request: CritiqueRequested) -> [ChatMessage] {
        [.system(system), .user(user(request))]
    }
}
