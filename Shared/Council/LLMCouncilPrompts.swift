import Critique
import DeepPref
import Events
import Foundation

/// The prompts the LLM council sends. Each asks for one JSON object whose shape is checked by
/// ``LLMCouncilSchema``; the shapes are documented in Docs/council-llm.md and must change together
/// with that validator.
public enum LLMCouncilPrompts {
    static let scoreBands = ScoreBands.promptText

    public static func personaSystem(_ persona: CouncilPersona, dimensions: [String],
                                     limits: LLMCouncilOutputLimits = .standard) -> String {
        """
        You are the \(persona.name) on a Cognitive Council that reads a user's request to find the \
        preferences the user holds but did not state (unstated goals, semantic context, risk tolerance).
        Your lens: \(persona.lens).

        Find the words in the request that reveal such a hidden preference through your lens. For each one:
        - quoted_cue: the exact words from the request, copied verbatim (a short span, 2 to 12 words).
        - inferred_preference: one dimension name in lowercase snake_case, preferably one of: \(dimensions.joined(separator: ", ")).
        - latent_risk: what goes wrong for this user if an answer ignores it (one sentence).
        - severity: a number from 0 to 1 (0 = harmless to ignore, 1 = ignoring it does serious harm).
        - recommendation: what a good answer should do about it (one sentence).
        Give at most \(limits.critiquesPerPersona) critique\(limits.critiquesPerPersona == 1 ? "" : "s"), and an empty list when your lens finds nothing. Never infer a \
        preference the wording does not support.

        Reply with only one JSON object, no code fences and no other text:
        {"critiques": [{"quoted_cue": "...", "inferred_preference": "...", "latent_risk": "...", "severity": 0.5, "recommendation": "..."}]}
        """
    }

    public static func personaUser(_ query: QuerySubmitted) -> String {
        """
        Request: \(query.question)
        Stated preference: \(query.profile.statedPreference.isEmpty ? "(none)" : query.profile.statedPreference)
        Topic: \(query.topic ?? "(unknown)")
        """
    }

    public static func moderatorSystem(dimensions: [String], limits: LLMCouncilOutputLimits = .standard) -> String {
        let tree = limits.grandchildren > 0
            ? "The root has at most \(limits.rootChildren) children, each of them at most \(limits.grandchildren), which have no children."
            : "The root has at most \(limits.rootChildren) children, which have no children."
        return """
        You are the moderator of a Cognitive Council (Psychologist, Security Expert, Sociologist, \
        Pragmatist, Educator, Devil's Advocate). You receive a user's request, the preference the user \
        stated, and the personas' critiques. Grow a tree of thoughts: candidate reasoning steps proposed \
        by the personas; critique and score every node; prune weak branches; the best path from the \
        root is the critique-annotated reasoning chain.
        \(scoreBands)

        Reply with only one JSON object, no code fences and no other text, with exactly these keys:
        - "inferred_preferences": list of at most \(limits.inferredPreferences) {"dimension": snake_case name (preferably one of: \(dimensions.joined(separator: ", "))), \
        "confidence": 0 to 1, "evidence": words copied verbatim from the request or the stated preference}.
        - "thought_tree": the root node, which states the surface request; its score is your overall score \
        of the best chain. A node is {"persona": the persona's name or null, "thought": string, "reasoning": the \
        critique of the thought, "score": -1 to 1, "children": [nodes]}. \(tree) The best path follows the \
        highest-scoring child.
        - "reasoning_chain": the best path as 3 to \(limits.chainSteps) steps {"stage": one of surface_request, implicit_preferences, \
        latent_risks, defensive_strategy, response_plan (in this order), "text": the step, "critique": string, \
        "score": -1 to 1}.
        - "aligned_answer": a response that answers the request and respects the inferred preferences.
        - "superficial_answer": a plausible response that answers the surface request only and ignores them.
        - "rubric": 1 to \(limits.rubricItems) criteria {"criterion": string, "dimension": name or null, "weight": number > 0, \
        "evidence_of_respect": [phrases], "evidence_of_violation": [phrases]}.
        Keep every text short: one or two sentences, an answer at most a short paragraph.
        """
    }

    public static func moderatorUser(_ query: QuerySubmitted, critiques: [PersonaCritique]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let critiqueJSON = String(decoding: try encoder.encode(critiques), as: UTF8.self)
        return personaUser(query) + "\nPersona critiques (JSON): " + critiqueJSON
    }
}
