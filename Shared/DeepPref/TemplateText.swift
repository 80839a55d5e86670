/// `{slot}` templates of the knowledge pack.
enum TemplateText {
    /// Slot names in order of appearance.
    static func slots(in template: String) -> [String] {
        var out: [String] = []
        var current: String? = nil
        for ch in template {
            if ch == "{" { current = "" } else if ch == "}" {
                if let c = current { out.append(c) }
                current = nil
            } else if current != nil { current!.append(ch) }
        }
        return out
    }

    static func fill(_ template: String, _ values: [String: String]) -> String {
        var s = template
        for (k, v) in values.sorted(by: { $0.key < $1.key }) { s = s.replacingOccurrences(of: "{\(k)}", with: v) }
        return s
    }
}
