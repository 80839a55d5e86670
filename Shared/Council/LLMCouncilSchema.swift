import ChatCompletions
import DeepPrefFormats
import Events
import Foundation

/// Validates the JSON the council's models return (shapes in ``LLMCouncilPrompts``).
///
/// Hard problems (a missing key, a wrong type, a score out of range, a broken tree) reject the
/// reply, so it is sent back to the model. Soft problems are repaired or dropped, never re-asked:
/// dimension names are normalized to snake_case; a quoted cue or evidence span that matches the
/// query only loosely is repaired to the verbatim span (``CueGrounding``); a critique or inferred
/// preference whose span does not occur in the query or the stated preference is dropped;
/// missing `parent_id`s are filled from `children`, missing `pruned` flags from the best path
/// (the tree rules are ``ThoughtTreeSchema``'s, shared with the published raw records).
public enum LLMCouncilSchema {
    /// The usable part of one persona's reply.
    public struct PersonaReply: Sendable, Equatable {
        public var critiques: [PersonaCritique]
        /// Cues rewritten to the verbatim span of the query.
        public var repairedCues: Int
        /// Cues that do not occur in the query; their critiques were dropped.
        public var droppedCues: [String]
    }

    /// The usable part of the moderator's reply.
    public struct ModeratorReply: Sendable, Equatable {
        public var inferredPreferences: [InferredPreference]
        public var thoughtTree: [ThoughtNode]
        public var reasoningChain: [ReasoningStep]
        public var alignedAnswer: String
        public var superficialAnswer: String
        public var rubric: [RubricItem]
        public var droppedEvidence: [String]
    }

    // MARK: - Persona

    public static func validatePersona(_ object: [String: Any], persona: String,
                                       query: QuerySubmitted) -> Result<PersonaReply, SchemaViolation> {
        let check = JSONFieldCheck()
        guard let items = check.array(object, "critiques", at: "$", count: 0...5) else {
            return .failure(SchemaViolation(check.problems))
        }
        var critiques: [PersonaCritique] = []
        var repaired = 0
        var dropped: [String] = []
        for (i, item) in items.enumerated() {
            let path = "$.critiques[\(i)]"
            guard let fields = item as? [String: Any] else { check.problem("\(path) must be an object"); continue }
            let cue = check.string(fields, "quoted_cue", at: path, allowEmpty: true)
            let dimension = check.string(fields, "inferred_preference", at: path).flatMap { dimensionName($0, at: path + ".inferred_preference", check) }
            let risk = check.string(fields, "latent_risk", at: path)
            let severity = check.number(fields, "severity", at: path, in: 0...1)
            let recommendation = check.string(fields, "recommendation", at: path)
            guard let cue, let dimension, let risk, let severity, let recommendation else { continue }
            guard let grounded = CueGrounding.locate(cue, in: [query.question]) else {
                dropped.append(cue)
                continue
            }
            if grounded != cue { repaired += 1 }
            critiques.append(PersonaCritique(persona: persona, quotedCue: grounded, inferredPreference: dimension,
                                             latentRisk: risk, severity: severity, recommendation: recommendation))
        }
        if !check.problems.isEmpty { return .failure(SchemaViolation(check.problems)) }
        return .success(PersonaReply(critiques: critiques, repairedCues: repaired, droppedCues: dropped))
    }

    // MARK: - Moderator

    public static func validateModerator(_ object: [String: Any], query: QuerySubmitted) -> Result<ModeratorReply, SchemaViolation> {
        var object = object
        if let root = object["thought_tree"] as? [String: Any] { object["thought_tree"] = flattenedTree(root) }
        let check = JSONFieldCheck()
        let sources = [query.question, query.profile.statedPreference].filter { !$0.isEmpty }

        var inferred: [InferredPreference] = []
        var droppedEvidence: [String] = []
        if let items = check.array(object, "inferred_preferences", at: "$", count: 0...12) {
            for (i, item) in items.enumerated() {
                let path = "$.inferred_preferences[\(i)]"
                guard let fields = item as? [String: Any] else { check.problem("\(path) must be an object"); continue }
                let dimension = check.string(fields, "dimension", at: path).flatMap { dimensionName($0, at: path + ".dimension", check) }
                let confidence = check.number(fields, "confidence", at: path, in: 0...1)
                let evidence = check.string(fields, "evidence", at: path, allowEmpty: true)
                guard let dimension, let confidence, let evidence else { continue }
                guard let grounded = CueGrounding.locate(evidence, in: sources) else { droppedEvidence.append(evidence); continue }
                if inferred.contains(where: { $0.dimension == dimension }) { continue } // first mention wins
                inferred.append(InferredPreference(dimension: dimension, confidence: confidence, evidence: grounded))
            }
        }

        let tree = ThoughtTreeSchema.validateTree(object, check)

        var chain: [ReasoningStep] = []
        if let items = check.array(object, "reasoning_chain", at: "$", count: 3...8) {
            var lastStage = -1
            for (i, item) in items.enumerated() {
                let path = "$.reasoning_chain[\(i)]"
                guard let fields = item as? [String: Any] else { check.problem("\(path) must be an object"); continue }
                let stageText = check.string(fields, "stage", at: path)
                let text = check.string(fields, "text", at: path)
                let critique = check.string(fields, "critique", at: path)
                let score = check.number(fields, "score", at: path, in: -1...1)
                guard let stageText, let text, let critique, let score else { continue }
                let stage = snakeCase(stageText)
                guard let order = ThoughtTreeSchema.stages.firstIndex(of: stage) else {
                    check.problem("\(path).stage '\(stageText.prefix(40))' is not one of \(ThoughtTreeSchema.stages.joined(separator: ", "))")
                    continue
                }
                if order < lastStage { check.problem("\(path).stage \(stage) comes after a later stage; keep the order \(ThoughtTreeSchema.stages.joined(separator: " → "))") }
                lastStage = max(lastStage, order)
                chain.append(ReasoningStep(index: i + 1, stage: stage, text: text, critique: critique, score: score))
            }
        }

        let aligned = check.string(object, "aligned_answer", at: "$")
        let superficial = check.string(object, "superficial_answer", at: "$")
        if let aligned, let superficial, aligned == superficial {
            check.problem("$.aligned_answer and $.superficial_answer must differ")
        }

        var rubric: [RubricItem] = []
        if let items = check.array(object, "rubric", at: "$", count: 1...8) {
            for (i, item) in items.enumerated() {
                let path = "$.rubric[\(i)]"
                guard let fields = item as? [String: Any] else { check.problem("\(path) must be an object"); continue }
                let criterion = check.string(fields, "criterion", at: path)
                let dimension = check.optionalString(fields, "dimension", at: path).flatMap { dimensionName($0, at: path + ".dimension", check) }
                // A missing weight means "as important as the others".
                let weight = fields["weight"] == nil || fields["weight"] is NSNull
                    ? 1.0 : check.number(fields, "weight", at: path, in: 0.000_001...100)
                let respect = check.strings(fields, "evidence_of_respect", at: path, required: false)
                let violation = check.strings(fields, "evidence_of_violation", at: path, required: false)
                guard let criterion, let weight, let respect, let violation else { continue }
                rubric.append(RubricItem(criterion: criterion, dimension: dimension, weight: weight,
                                         evidenceOfRespect: respect, evidenceOfViolation: violation))
            }
        }

        guard check.problems.isEmpty, let tree, let aligned, let superficial else {
            return .failure(SchemaViolation(check.problems.isEmpty ? ["$ is incomplete"] : check.problems))
        }
        return .success(ModeratorReply(inferredPreferences: inferred, thoughtTree: tree, reasoningChain: chain,
                                       alignedAnswer: aligned, superficialAnswer: superficial, rubric: rubric,
                                       droppedEvidence: droppedEvidence))
    }

    /// A nested tree (the root node, each node's `children` holding its child nodes) as the flat
    /// node list: ids "0", "1", ... in preorder, each node with its `parent_id` and its children's
    /// ids. Anything that is not a node is kept in place for the tree check to report.
    static func flattenedTree(_ root: [String: Any]) -> [Any] {
        var nodes: [Any] = []
        func visit(_ item: Any, parent: String?) -> String? {
            guard var fields = item as? [String: Any] else {
                nodes.append(item)
                return nil
            }
            let id = String(nodes.count)
            let slot = nodes.count
            nodes.append(NSNull())
            fields["node_id"] = id
            fields["parent_id"] = parent ?? NSNull()
            if let children = fields["children"] as? [Any] {
                fields["children"] = children.compactMap { visit($0, parent: id) }
            }
            nodes[slot] = fields
            return id
        }
        _ = visit(root, parent: nil)
        return nodes
    }

    // MARK: - Output schemas

    // Sent as `json_schema` where the endpoint takes it, so that a constrained decoder cannot write
    // anything else. The schemas are as tight as the limits (fewer items and bounded texts: a small
    // model otherwise repeats an item or a sentence until max_tokens); the validators above stay
    // the authority, since an endpoint may fall back to `json_object` or enforce only part of it.

    /// One persona's reply: at most `limits.critiquesPerPersona` critiques.
    public static func personaOutput(_ limits: LLMCouncilOutputLimits = .standard) -> ResponseFormat {
        .jsonSchema(name: "persona_critiques", schema: .object([
            .init("critiques", .array(items: .object([
                .init("quoted_cue", .string(maxLength: 120)),
                .init("inferred_preference", .string(minLength: 1, maxLength: 48)),
                .init("latent_risk", .string(minLength: 1, maxLength: limits.sentenceLength)),
                .init("severity", .number(minimum: 0, maximum: 1)),
                .init("recommendation", .string(minLength: 1, maxLength: limits.sentenceLength)),
            ]), maxItems: limits.critiquesPerPersona)),
        ]))
    }

    /// The moderator's reply, with the tree nested (the root, its children, theirs), so that it is
    /// well formed by construction.
    public static func moderatorOutput(_ limits: LLMCouncilOutputLimits = .standard) -> ResponseFormat {
        let sentence = JSONSchema.string(minLength: 1, maxLength: limits.sentenceLength)
        func node(children: JSONSchema?) -> JSONSchema {
            var properties: [JSONSchema.Property] = [
                .init("persona", .nullableString(maxLength: 40)),
                .init("thought", sentence),
                .init("reasoning", sentence),
                .init("score", .number(minimum: -1, maximum: 1)),
            ]
            if let children { properties.append(.init("children", children)) }
            return .object(properties)
        }
        let child = limits.grandchildren > 0
            ? node(children: .array(items: node(children: nil), maxItems: limits.grandchildren))
            : node(children: nil)
        let phrases = JSONSchema.array(items: .string(minLength: 1, maxLength: 80), maxItems: 3)
        return .jsonSchema(name: "council_moderator", schema: .object([
            .init("inferred_preferences", .array(items: .object([
                .init("dimension", .string(minLength: 1, maxLength: 48)),
                .init("confidence", .number(minimum: 0, maximum: 1)),
                .init("evidence", .string(maxLength: 160)),
            ]), maxItems: limits.inferredPreferences)),
            .init("thought_tree", node(children: .array(items: child, maxItems: limits.rootChildren))),
            .init("reasoning_chain", .array(items: .object([
                .init("stage", .string(allowed: ThoughtTreeSchema.stages)),
                .init("text", sentence),
                .init("critique", sentence),
                .init("score", .number(minimum: -1, maximum: 1)),
            ]), minItems: 3, maxItems: limits.chainSteps)),
            .init("aligned_answer", .string(minLength: 1, maxLength: limits.answerLength)),
            .init("superficial_answer", .string(minLength: 1, maxLength: limits.answerLength)),
            .init("rubric", .array(items: .object([
                .init("criterion", .string(minLength: 1, maxLength: 200)),
                .init("dimension", .nullableString(maxLength: 48)),
                .init("weight", .number(minimum: 0.1, maximum: 10)),
                .init("evidence_of_respect", phrases),
                .init("evidence_of_violation", phrases),
            ]), minItems: 1, maxItems: limits.rubricItems)),
        ]))
    }

    // MARK: - Names

    package static func snakeCase(_ text: String) -> String {
        var result = ""
        var lastUnderscore = false
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                result.append(character); lastUnderscore = false
            } else if !lastUnderscore && !result.isEmpty {
                result.append("_"); lastUnderscore = true
            }
        }
        while result.hasSuffix("_") { result.removeLast() }
        return result
    }

    package static func dimensionName(_ text: String, at path: String, _ check: JSONFieldCheck) -> String? {
        let name = snakeCase(text)
        guard !name.isEmpty, name.count <= 48, name.first?.isLetter == true else {
            check.problem("\(path) '\(text.prefix(60))' is not a dimension name (lowercase snake_case, at most 48 characters)")
            return nil
        }
        return name
    }
}
