/// How much the LLM council asks each reply for: the array and text limits of the JSON schemas it
/// sends (``LLMCouncilSchema``) and the numbers its prompts state (``LLMCouncilPrompts``). The
/// validators accept more, since a server may not enforce a schema. A small local model fills every
/// list and text to its limit, so smaller limits make its replies shorter and faster.
public struct LLMCouncilOutputLimits: Sendable, Equatable {
    /// Critiques per persona, 0–5. Default: 3.
    public var critiquesPerPersona: Int
    /// Inferred preferences, 0–12. Default: 6.
    public var inferredPreferences: Int
    /// Children of the thought tree's root. Default: 3.
    public var rootChildren: Int
    /// Children of each child of the root (0: a tree of two levels). Default: 2.
    public var grandchildren: Int
    /// Steps of the reasoning chain, 3–8. Default: 5.
    public var chainSteps: Int
    /// Rubric items, 1–8. Default: 4.
    public var rubricItems: Int
    /// Characters of a sentence field (latent risk, recommendation, thought, reasoning, critique,
    /// step text). Default: 300.
    public var sentenceLength: Int
    /// Characters of each reference answer. Default: 1200.
    public var answerLength: Int

    public init(critiquesPerPersona: Int = 3, inferredPreferences: Int = 6, rootChildren: Int = 3, grandchildren: Int = 2,
                chainSteps: Int = 5, rubricItems: Int = 4, sentenceLength: Int = 300, answerLength: Int = 1200) {
        precondition((0...5).contains(critiquesPerPersona), "critiquesPerPersona must be in 0...5")
        precondition((0...12).contains(inferredPreferences), "inferredPreferences must be in 0...12")
        precondition(rootChildren >= 0 && grandchildren >= 0 && 1 + rootChildren * (1 + grandchildren) <= 64,
                     "the tree must fit in 64 nodes")
        precondition((3...8).contains(chainSteps), "chainSteps must be in 3...8")
        precondition((1...8).contains(rubricItems), "rubricItems must be in 1...8")
        precondition(sentenceLength >= 20 && answerLength >= 20, "texts need room")
        self.critiquesPerPersona = critiquesPerPersona
        self.inferredPreferences = inferredPreferences
        self.rootChildren = rootChildren
        self.grandchildren = grandchildren
        self.chainSteps = chainSteps
        self.rubricItems = rubricItems
        self.sentenceLength = sentenceLength
        self.answerLength = answerLength
    }

    /// The defaults: room for what a capable model writes.
    public static let standard = LLMCouncilOutputLimits()

    /// For small local models: one critique per persona, two inferred preferences, a root with two
    /// children, three steps, one rubric item, texts of 60 characters and answers of 160.
    public static let compact = LLMCouncilOutputLimits(critiquesPerPersona: 1, inferredPreferences: 2, rootChildren: 2,
                                                       grandchildren: 0, chainSteps: 3, rubricItems: 1,
                                                       sentenceLength: 60, answerLength: 160)

    /// Most nodes of a tree within the limits.
    public var treeNodes: Int { 1 + rootChildren * (1 + grandchildren) }
}
