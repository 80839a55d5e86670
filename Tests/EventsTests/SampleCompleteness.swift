/// Finds the parts of a sample that would hide a field from its JSON encoding: a nil optional
/// or an empty collection, at any depth (found by reflection, so no field list is kept by hand).
/// Of a collection only the first element is checked, as ``SchemaConformance`` walks only that one.
enum SampleCompleteness {
    static func problems(in value: Any) -> [String] {
        var found: [String] = []
        visit(value, path: "sample", depth: 0, into: &found)
        return found
    }

    private static func visit(_ value: Any, path: String, depth: Int, into found: inout [String]) {
        guard depth < 32 else { return }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first?.value else {
                found.append("\(path) is nil in the sample; set it so its schema field is checked")
                return
            }
            visit(wrapped, path: path, depth: depth + 1, into: &found)
        case .collection, .set:
            // Like the schema walk, only the first element has to be complete.
            guard let first = mirror.children.first else {
                found.append("\(path) is empty in the sample")
                return
            }
            visit(first.value, path: "\(path)[0]", depth: depth + 1, into: &found)
        case .dictionary:
            if mirror.children.isEmpty { found.append("\(path) is empty in the sample") }
        case .struct, .class:
            // Foundation value types (Date, UUID) have no optional or collection inside worth checking.
            if value is any Codable, String(reflecting: type(of: value)).hasPrefix("Foundation.") { return }
            for child in mirror.children {
                visit(child.value, path: "\(path).\(child.label ?? "?")", depth: depth + 1, into: &found)
            }
        default:
            break
        }
    }
}
