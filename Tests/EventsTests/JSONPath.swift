import Events
import EventsTesting

/// Reading and replacing one value deep inside a ``JSONValue``.
enum JSONPath {
    enum Segment: Equatable {
        case key(String)
        case index(Int)
    }

    static func describe(_ path: [Segment]) -> String {
        var text = ""
        for segment in path {
            switch segment {
            case .key(let k): text += text.isEmpty ? k : ".\(k)"
            case .index(let i): text += "[\(i)]"
            }
        }
        return text
    }

    static func value(in json: JSONValue, at path: [Segment]) -> JSONValue? {
        var current = json
        for segment in path {
            switch (segment, current) {
            case (.key(let k), .object(let fields)):
                guard let next = fields[k] else { return nil }
                current = next
            case (.index(let i), .array(let elements)):
                guard elements.indices.contains(i) else { return nil }
                current = elements[i]
            default:
                return nil
            }
        }
        return current
    }

    /// A copy of `json` with the value at `path` replaced, or removed when `newValue` is nil
    /// (removing from an array is not needed and leaves it unchanged).
    static func setting(_ json: JSONValue, at path: [Segment], to newValue: JSONValue?) -> JSONValue {
        guard let first = path.first else { return newValue ?? .null }
        let rest = Array(path.dropFirst())
        switch (first, json) {
        case (.key(let k), .object(var fields)):
            if rest.isEmpty {
                fields[k] = newValue
            } else if let child = fields[k] {
                fields[k] = setting(child, at: rest, to: newValue)
            }
            return .object(fields)
        case (.index(let i), .array(var elements)) where elements.indices.contains(i):
            if rest.isEmpty {
                if let newValue { elements[i] = newValue }
            } else {
                elements[i] = setting(elements[i], at: rest, to: newValue)
            }
            return .array(elements)
        default:
            return json
        }
    }
}
