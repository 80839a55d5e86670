import Foundation

/// What the Cognitive Council produces for one query (DESIGN §5): the personas' critiques, the
/// thought tree they grew, the pruned best reasoning chain, two reference answers and a rubric.
public struct CouncilAnnotation: Codable, Sendable, Equatable {
    public var queryID: String
    /// Which council produced it: `builtin` or `llm:<model name>`.
    public var backend: String
    public var inferredPreferences: [InferredPreference]
    public var personaCritiques: [PersonaCritique]
    /// Every node of the tree; the root has id "0" and no parent.
    public var thoughtTree: [ThoughtNode]
    /// The best path through the tree: surface request → implicit preferences → latent risks →
    /// defensive strategy → response plan.
    public var reasoningChain: [ReasoningStep]
    /// A response that respects the inferred preferences.
    public var alignedAnswer: String
    /// A plausible response that answers the surface request only (misaligned).
    public var superficialAnswer: String
    public var rubric: [RubricItem]

    public init(queryID: String, backend: String, inferredPreferences: [InferredPreference],
                personaCritiques: [PersonaCritique], thoughtTree: [ThoughtNode],
                reasoningChain: [ReasoningStep], alignedAnswer: String, superficialAnswer: String,
                rubric: [RubricItem]) {
        self.queryID = queryID
        self.backend = backend
        self.inferredPreferences = inferredPreferences
        self.personaCritiques = personaCritiques
        self.thoughtTree = thoughtTree
        self.reasoningChain = reasoningChain
        self.alignedAnswer = alignedAnswer
        self.superficialAnswer = superficialAnswer
        self.rubric = rubric
    }

    enum CodingKeys: String, CodingKey {
        case queryID = "query_id", backend
        case inferredPreferences = "inferred_preferences", personaCritiques = "persona_critiques"
        case thoughtTree = "thought_tree", reasoningChain = "reasoning_chain"
        case alignedAnswer = "aligned_answer", superficialAnswer = "superficial_answer", rubric
    }

    /// Scores outside [−1, 1], empty required text, a tree without a root.
    public func validationProblems() -> [String] {
        var problems: [String] = []
        if queryID.isEmpty { problems.append("annotation.query_id is empty") }
        if reasoningChain.isEmpty { problems.append("annotation.reasoning_chain is empty") }
        if alignedAnswer.isEmpty { problems.append("annotation.aligned_answer is empty") }
        for node in thoughtTree where !(-1.0...1.0).contains(node.score) {
            problems.append("thought_tree node \(node.nodeID) score \(node.score) is outside [-1, 1]")
        }
        for step in reasoningChain where !(-1.0...1.0).contains(step.score) {
            problems.append("reasoning_chain step \(step.index) score \(step.score) is outside [-1, 1]")
        }
        for p in inferredPreferences where !(0.0...1.0).contains(p.confidence) {
            problems.append("inferred preference \(p.dimension) confidence \(p.confidence) is outside [0, 1]")
        }
        for c in personaCritiques where !(0.0...1.0).contains(c.severity) {
            problems.append("persona critique by \(c.persona) severity \(c.severity) is outside [0, 1]")
        }
        if !thoughtTree.isEmpty && !thoughtTree.contains(where: { $0.nodeID == "0" && $0.parentID == nil }) {
            problems.append("thought_tree has no root node \"0\"")
        }
        return problems
    }
}
