/// A node of the council's tree of thoughts; `reasoning` is the critique of the node.
public struct ThoughtNode: Codable, Sendable, Equatable {
    public var nodeID: String
    public var parentID: String?
    /// The persona that proposed the thought (nil for the root).
    public var persona: String?
    public var thought: String
    public var reasoning: String
    /// In [−1, 1] (DESIGN §6 score bands).
    public var score: Double
    public var children: [String]
    /// True when the node was cut from the best path.
    public var pruned: Bool

    public init(nodeID: String, parentID: String?, persona: String?, thought: String, reasoning: String,
                score: Double, children: [String], pruned: Bool) {
        self.nodeID = nodeID
        self.parentID = parentID
        self.persona = persona
        self.thought = thought
        self.reasoning = reasoning
        self.score = score
        self.children = children
        self.pruned = pruned
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id", parentID = "parent_id", persona, thought, reasoning, score, children, pruned
    }
}
