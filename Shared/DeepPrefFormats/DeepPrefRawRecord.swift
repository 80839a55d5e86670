import ChatCompletions
import Events
import Foundation

/// The published DeepPref raw record: `{"initial_question", "user_profile", "thought_tree"}`,
/// where `thought_tree` maps node ids to `{"thought", "reasoning", "score", "children"}` and the
/// root is `"0"`.
///
/// Accepted on input: `user_profile` as a string, or an object with `preference` (or
/// `stated_preference`), optional `risk_tolerance` and `profile_id`; node ids and children as
/// strings or integers; an optional `id` (string or integer) and an optional `persona` per node.
/// Written on output: exactly those keys; `user_profile` as a string unless a risk tolerance or
/// profile id must be kept; `id` only when it is not the one derived from the content; `persona`
/// only on nodes that have one. So raw → ours → raw gives back the same JSON (ids as strings).
public struct DeepPrefRawRecord: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var thought: String
        public var reasoning: String
        public var score: Double
        public var children: [String]
        public var persona: String?

        public init(thought: String, reasoning: String, score: Double, children: [String], persona: String? = nil) {
            self.thought = thought
            self.reasoning = reasoning
            self.score = score
            self.children = children
            self.persona = persona
        }
    }

    /// nil when the record carries none (an id is then derived from the question and profile).
    public var id: String?
    public var initialQuestion: String
    public var statedPreference: String
    public var riskTolerance: String?
    public var profileID: String?
    public var thoughtTree: [String: Node]

    public init(id: String? = nil, initialQuestion: String, statedPreference: String, riskTolerance: String? = nil,
                profileID: String? = nil, thoughtTree: [String: Node]) {
        self.id = id
        self.initialQuestion = initialQuestion
        self.statedPreference = statedPreference
        self.riskTolerance = riskTolerance
        self.profileID = profileID
        self.thoughtTree = thoughtTree
    }

    /// The id used when the record has none: `deeppref-<hash of question and preference>`.
    public var derivedID: String { "deeppref-" + StableID.of(initialQuestion, statedPreference) }

    // MARK: - JSON

    /// Parses and validates one record (tree shape included).
    public init(json object: [String: Any]) throws {
        let check = JSONFieldCheck()
        id = JSONFieldCheck.identifier(object["id"])
        let question = check.string(object, "initial_question", at: "$")
        var preference: String? = nil
        switch object["user_profile"] {
        case let text as String:
            preference = text.trimmingCharacters(in: .whitespacesAndNewlines)
        case let fields as [String: Any]:
            preference = (fields["preference"] as? String) ?? (fields["stated_preference"] as? String)
            if preference == nil { check.problem("$.user_profile has no 'preference' string") }
            riskTolerance = fields["risk_tolerance"] as? String
            profileID = JSONFieldCheck.identifier(fields["profile_id"])
        default:
            check.problem("$.user_profile must be a string or an object")
        }
        var tree: [String: Node] = [:]
        if let raw = object["thought_tree"] as? [String: Any] {
            var list: [[String: Any]] = []
            for (key, value) in raw {
                guard var node = value as? [String: Any] else { check.problem("$.thought_tree.\(key) must be an object"); continue }
                node["node_id"] = key
                node.removeValue(forKey: "parent_id")
                node.removeValue(forKey: "pruned")
                list.append(node)
            }
            if check.problems.isEmpty, let nodes = ThoughtTreeSchema.validateTree(["thought_tree": list], check, allowEmptyReasoning: true) {
                for node in nodes {
                    tree[node.nodeID] = Node(thought: node.thought, reasoning: node.reasoning, score: node.score,
                                             children: node.children, persona: node.persona)
                }
            }
        } else {
            check.problem("$.thought_tree must be an object mapping node ids to nodes")
        }
        guard check.problems.isEmpty, let question, let preference else { throw SchemaViolation(check.problems) }
        initialQuestion = question
        statedPreference = preference
        thoughtTree = tree
    }

    public func jsonObject() -> [String: Any] {
        var object: [String: Any] = ["initial_question": initialQuestion]
        if riskTolerance == nil && profileID == nil {
            object["user_profile"] = statedPreference
        } else {
            var profile: [String: Any] = ["preference": statedPreference]
            if let riskTolerance { profile["risk_tolerance"] = riskTolerance }
            if let profileID { profile["profile_id"] = profileID }
            object["user_profile"] = profile
        }
        var tree: [String: Any] = [:]
        for (key, node) in thoughtTree {
            var fields: [String: Any] = ["thought": node.thought, "reasoning": node.reasoning, "score": node.score,
                                         "children": node.children]
            if let persona = node.persona { fields["persona"] = persona }
            tree[key] = fields
        }
        object["thought_tree"] = tree
        if let id, id != derivedID { object["id"] = id }
        return object
    }

    // MARK: - Ours

    /// The query and an annotation holding the tree; the reasoning chain is the best path (from
    /// the root, always the highest-scoring child), one step per node, stages spread in order.
    /// Raw records carry no critiques, inferred preferences, answers or rubric: those stay empty.
    public func toQueryAndAnnotation(backend: String = "deeppref-raw") -> (query: QuerySubmitted, annotation: CouncilAnnotation) {
        let queryID = id ?? derivedID
        let query = QuerySubmitted(
            queryID: queryID,
            profile: UserProfile(profileID: profileID ?? "profile-" + queryID, statedPreference: statedPreference,
                                 riskTolerance: riskTolerance),
            question: initialQuestion)
        var parent: [String: String] = [:]
        for (key, node) in thoughtTree { for child in node.children { parent[child] = key } }
        var nodes = thoughtTree.map { key, node in
            ThoughtNode(nodeID: key, parentID: parent[key], persona: node.persona, thought: node.thought,
                        reasoning: node.reasoning, score: node.score, children: node.children, pruned: false)
        }
        nodes.sort(by: Self.nodeOrder)
        let path = ThoughtTreeSchema.greedyBestPath(nodes)
        let onPath = Set(path)
        for i in nodes.indices { nodes[i].pruned = !onPath.contains(nodes[i].nodeID) }
        let chain = path.enumerated().map { i, id -> ReasoningStep in
            let node = thoughtTree[id]!
            return ReasoningStep(index: i + 1, stage: Self.stage(i, of: path.count), text: node.thought,
                                 critique: node.reasoning, score: node.score)
        }
        let annotation = CouncilAnnotation(queryID: queryID, backend: backend, inferredPreferences: [], personaCritiques: [],
                                           thoughtTree: nodes, reasoningChain: chain, alignedAnswer: "", superficialAnswer: "",
                                           rubric: [])
        return (query, annotation)
    }

    /// From our query and annotation. An annotation without a tree is written as a linear tree of
    /// its reasoning chain (root "0" = step 1).
    public init(query: QuerySubmitted, annotation: CouncilAnnotation) {
        var tree: [String: Node] = [:]
        if annotation.thoughtTree.isEmpty {
            let steps = annotation.reasoningChain
            for (i, step) in steps.enumerated() {
                tree[String(i)] = Node(thought: step.text, reasoning: step.critique, score: step.score,
                                       children: i + 1 < steps.count ? [String(i + 1)] : [])
            }
        } else {
            for node in annotation.thoughtTree {
                tree[node.nodeID] = Node(thought: node.thought, reasoning: node.reasoning, score: node.score,
                                         children: node.children, persona: node.persona)
            }
        }
        let defaultProfileID = "profile-" + query.queryID
        self.init(id: query.queryID, initialQuestion: query.question, statedPreference: query.profile.statedPreference,
                  riskTolerance: query.profile.riskTolerance,
                  profileID: query.profile.profileID == defaultProfileID ? nil : query.profile.profileID,
                  thoughtTree: tree)
    }

    // MARK: - Files

    /// Reads a JSON Lines file or a JSON array of raw records; bad records are reported by line.
    public static func read(_ url: URL) -> RecordBatch<DeepPrefRawRecord> {
        JSONRecordReader.read(url) { try DeepPrefRawRecord(json: $0.object) }
    }

    /// Stage of step `i` (0-based) of an `n`-step chain: the five stages spread in order.
    static func stage(_ i: Int, of n: Int) -> String {
        ThoughtTreeSchema.stages[min(ThoughtTreeSchema.stages.count - 1, i * ThoughtTreeSchema.stages.count / max(n, 1))]
    }

    /// Numeric ids in numeric order, then the others.
    static func nodeOrder(_ a: ThoughtNode, _ b: ThoughtNode) -> Bool {
        switch (Int(a.nodeID), Int(b.nodeID)) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a.nodeID < b.nodeID
        }
    }
}
