import ChatCompletions
import Events
import Foundation

/// The thought-tree shape shared by the published DeepPref raw records and the LLM council's
/// moderator replies: nodes with unique ids under a root `"0"`, every node reachable from the root
/// once; a node listed only through its `parent_id` joins its parent's `children`, and a node without
/// `pruned` is pruned unless it is on the greedy best path.
public enum ThoughtTreeSchema {
    /// Stages of a reasoning chain, in order.
    public static let stages = ["surface_request", "implicit_preferences", "latent_risks", "defensive_strategy", "response_plan"]

    /// Nodes with unique ids, root "0", every node reachable from the root exactly once.
    package static func validateTree(_ object: [String: Any], _ check: JSONFieldCheck, allowEmptyReasoning: Bool = false) -> [ThoughtNode]? {
        guard let items = check.array(object, "thought_tree", at: "$", count: 1...64) else { return nil }
        let before = check.problems.count
        var nodes: [ThoughtNode] = []
        var prunedGiven: [String: Bool] = [:]
        var parentGiven: [String: String] = [:]
        for (i, item) in items.enumerated() {
            let path = "$.thought_tree[\(i)]"
            guard let fields = item as? [String: Any] else { check.problem("\(path) must be an object"); continue }
            guard let id = JSONFieldCheck.identifier(fields["node_id"]) else {
                check.problem("\(path).node_id is missing (a string id is required)")
                continue
            }
            let thought = check.string(fields, "thought", at: path)
            let reasoning = check.string(fields, "reasoning", at: path, allowEmpty: allowEmptyReasoning)
            let score = check.number(fields, "score", at: path, in: -1...1)
            var children: [String] = []
            if let raw = fields["children"], !(raw is NSNull) {
                if let list = raw as? [Any] {
                    for child in list {
                        if let childID = JSONFieldCheck.identifier(child) { children.append(childID) }
                        else { check.problem("\(path).children must hold node ids") }
                    }
                } else {
                    check.problem("\(path).children must be a list of node ids")
                }
            }
            if let parent = JSONFieldCheck.identifier(fields["parent_id"]) { parentGiven[id] = parent }
            if let raw = fields["pruned"], !(raw is NSNull) {
                if let flag = JSONFieldCheck.boolValue(raw) { prunedGiven[id] = flag }
                else { check.problem("\(path).pruned must be true or false") }
            }
            let persona = check.optionalString(fields, "persona", at: path)
            guard let thought, let reasoning, let score else { continue }
            if nodes.contains(where: { $0.nodeID == id }) { check.problem("\(path).node_id '\(id)' is used twice"); continue }
            nodes.append(ThoughtNode(nodeID: id, parentID: nil, persona: persona, thought: thought, reasoning: reasoning,
                                     score: score, children: children, pruned: false))
        }
        guard check.problems.count == before else { return nil }
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { index[node.nodeID] = i }
        guard index["0"] != nil else { check.problem("$.thought_tree has no root node \"0\""); return nil }
        if let rootParent = parentGiven["0"] { check.problem("$.thought_tree root \"0\" has parent_id '\(rootParent)'; the root has none") }
        // A node listed only through its parent_id is added to the parent's children.
        for (child, parent) in parentGiven where child != "0" {
            guard let p = index[parent] else { check.problem("node '\(child)' names parent '\(parent)', which does not exist"); continue }
            if !nodes[p].children.contains(child) { nodes[p].children.append(child) }
        }
        var parentOf: [String: String] = [:]
        for node in nodes {
            for child in node.children {
                guard index[child] != nil else { check.problem("node '\(node.nodeID)' lists child '\(child)', which does not exist"); continue }
                if child == "0" { check.problem("node '\(node.nodeID)' lists the root as a child"); continue }
                if let other = parentOf[child], other != node.nodeID {
                    check.problem("node '\(child)' has two parents ('\(other)' and '\(node.nodeID)')")
                }
                parentOf[child] = node.nodeID
                if let given = parentGiven[child], given != node.nodeID {
                    check.problem("node '\(child)' has parent_id '\(given)' but is listed under '\(node.nodeID)'")
                }
            }
        }
        guard check.problems.count == before else { return nil }
        // Every node reachable from the root, no cycles.
        var seen: Set<String> = ["0"]
        var frontier = ["0"]
        while let id = frontier.popLast() {
            for child in nodes[index[id]!].children where !seen.contains(child) {
                seen.insert(child); frontier.append(child)
            }
        }
        let unreachable = nodes.map(\.nodeID).filter { !seen.contains($0) }
        if !unreachable.isEmpty {
            check.problem("thought_tree nodes not reachable from the root: \(unreachable.prefix(10).joined(separator: ", "))")
            return nil
        }
        for i in nodes.indices { nodes[i].parentID = parentOf[nodes[i].nodeID] }
        let bestPath = Set(greedyBestPath(nodes))
        for i in nodes.indices {
            nodes[i].pruned = prunedGiven[nodes[i].nodeID] ?? !bestPath.contains(nodes[i].nodeID)
        }
        nodes[index["0"]!].pruned = false
        return nodes
    }

    /// From the root, always the highest-scoring child (ties: the first listed).
    public static func greedyBestPath(_ nodes: [ThoughtNode]) -> [String] {
        var byID: [String: ThoughtNode] = [:]
        for node in nodes { byID[node.nodeID] = node }
        guard var current = byID["0"] else { return [] }
        var path = ["0"]
        var visited: Set<String> = ["0"]
        while true {
            let children = current.children.compactMap { byID[$0] }.filter { !visited.contains($0.nodeID) }
            guard var best = children.first else { break }
            for child in children.dropFirst() where child.score > best.score { best = child }
            path.append(best.nodeID)
            visited.insert(best.nodeID)
            current = best
        }
        return path
    }
}
