import Foundation

/// Finds the JSON object in a model's reply. Models wrap JSON in code fences or put prose
/// before and after it even when asked not to; both are cleaned up here, before parsing.
public enum ModelReplyJSON {
    public struct ExtractionError: Error, Sendable, Equatable {
        public var reason: String
    }

    /// The first complete top-level JSON object in `text`, after removing code fences and any
    /// leading or trailing prose.
    public static func extractObject(from text: String) throws -> [String: Any] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw ExtractionError(reason: "the reply is empty; expected one JSON object") }
        var candidates: [String] = []
        if let fenced = fencedBlock(trimmed) { candidates.append(fenced) }
        candidates.append(trimmed)
        var lastReason = "the reply contains no JSON object"
        for candidate in candidates {
            guard let span = firstBalancedObject(candidate) else { continue }
            do {
                let object = try JSONSerialization.jsonObject(with: Data(span.utf8), options: [])
                if let fields = object as? [String: Any] { return fields }
                lastReason = "the reply's JSON is not an object"
            } catch {
                lastReason = "the reply's JSON object does not parse: \(String(describing: (error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error.localizedDescription).prefix(200))"
            }
        }
        throw ExtractionError(reason: lastReason)
    }

    /// The contents of the first ``` fenced block (language tag dropped), if any.
    static func fencedBlock(_ text: String) -> String? {
        guard let open = text.range(of: "```") else { return nil }
        var rest = text[open.upperBound...]
        if let newline = rest.firstIndex(of: "\n") {
            // The remainder of the fence line is a language tag such as `json`.
            let tag = rest[..<newline].trimmingCharacters(in: .whitespaces)
            if tag.allSatisfy({ $0.isLetter }) { rest = rest[rest.index(after: newline)...] }
        }
        guard let close = rest.range(of: "```") else { return String(rest) }
        return String(rest[..<close.lowerBound])
    }

    /// The first `{ ... }` span whose braces balance, skipping braces inside JSON strings.
    static func firstBalancedObject(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "{" {
                var depth = 0
                var inString = false
                var escaped = false
                var end = index
                while end < scalars.count {
                    let c = scalars[end]
                    if inString {
                        if escaped { escaped = false }
                        else if c == "\\" { escaped = true }
                        else if c == "\"" { inString = false }
                    } else if c == "\"" {
                        inString = true
                    } else if c == "{" {
                        depth += 1
                    } else if c == "}" {
                        depth -= 1
                        if depth == 0 {
                            var view = String.UnicodeScalarView()
                            view.append(contentsOf: scalars[index...end])
                            return String(view)
                        }
                    }
                    end += 1
                }
                return nil // an object opened but never closed
            }
            index += 1
        }
        return nil
    }
}
