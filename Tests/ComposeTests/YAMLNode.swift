/// A value of the YAML that `docker-compose config` prints, read by ``YAMLNode/parse(_:)``.
///
/// Not a YAML parser: it reads the block style PyYAML writes for docker-compose 1.29 (two-space
/// indents, a sequence's `- ` items at its key's indent, `{}` and `[]` for empty collections,
/// plain, 'single' and "double" quoted scalars, long scalars folded onto more-indented lines) and
/// throws on anything else (anchors, aliases, tags, block scalars, other flow collections), so a
/// change of format fails the tests instead of being misread.
indirect enum YAMLNode: Sendable, Equatable {
    case scalar(String)
    case sequence([YAMLNode])
    case mapping([String: YAMLNode])

    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var problem: String
        var description: String { "line \(line): \(problem)" }
    }

    // MARK: - Access

    subscript(key: String) -> YAMLNode? {
        if case let .mapping(entries) = self { return entries[key] }
        return nil
    }

    var string: String? {
        if case let .scalar(text) = self { return text }
        return nil
    }

    var items: [YAMLNode]? {
        if case let .sequence(items) = self { return items }
        return nil
    }

    var entries: [String: YAMLNode]? {
        if case let .mapping(entries) = self { return entries }
        return nil
    }

    /// A sequence of scalars as strings (`command`, `entrypoint`, `healthcheck.test`).
    var strings: [String]? {
        items?.compactMap(\.string)
    }

    // MARK: - Reading

    static func parse(_ text: String) throws -> YAMLNode {
        var reader = Reader(text)
        guard let first = reader.lines.first else { return .mapping([:]) }
        let node = try reader.node(indent: first.indent)
        if reader.position < reader.lines.count {
            throw ParseError(line: reader.lines[reader.position].number, problem: "unexpected indentation")
        }
        return node
    }

    private struct Line {
        var number: Int
        var indent: Int
        var content: Substring
    }

    private struct Reader {
        var lines: [Line] = []
        var position = 0

        init(_ text: String) {
            for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let content = raw.drop(while: { $0 == " " })
                if content.isEmpty || content.hasPrefix("#") { continue }
                lines.append(Line(number: index + 1, indent: raw.count - content.count, content: content))
            }
        }

        /// The node whose lines start at `position`, all at `indent` or deeper.
        mutating func node(indent: Int) throws -> YAMLNode {
            let line = lines[position]
            if line.content == "-" || line.content.hasPrefix("- ") { return try sequence(indent: indent) }
            return try mapping(indent: indent)
        }

        mutating func sequence(indent: Int) throws -> YAMLNode {
            var items: [YAMLNode] = []
            while position < lines.count, lines[position].indent == indent,
                  lines[position].content == "-" || lines[position].content.hasPrefix("- ") {
                let line = lines[position]
                let rest = line.content.dropFirst(1).drop(while: { $0 == " " })
                if rest.isEmpty {
                    position += 1
                    guard position < lines.count, lines[position].indent > indent else {
                        items.append(.scalar(""))
                        continue
                    }
                    items.append(try node(indent: lines[position].indent))
                } else if Self.splitEntry(rest) != nil {
                    // A mapping item: its first entry is on this line, the others below it.
                    let itemIndent = indent + (line.content.count - rest.count)
                    lines[position] = Line(number: line.number, indent: itemIndent, content: rest)
                    items.append(try mapping(indent: itemIndent))
                } else {
                    items.append(try scalar(rest, line: line, parentIndent: indent))
                }
            }
            return .sequence(items)
        }

        mutating func mapping(indent: Int) throws -> YAMLNode {
            var entries: [String: YAMLNode] = [:]
            while position < lines.count, lines[position].indent == indent {
                let line = lines[position]
                guard let (rawKey, rest) = Self.splitEntry(line.content) else {
                    throw ParseError(line: line.number, problem: "expected `key: value`, found `\(line.content)`")
                }
                let key = try Self.unquote(rawKey, line: line.number)
                if entries[key] != nil { throw ParseError(line: line.number, problem: "key \(key) twice") }
                if rest.isEmpty {
                    position += 1
                    if position < lines.count, lines[position].indent > indent {
                        entries[key] = try node(indent: lines[position].indent)
                    } else if position < lines.count, lines[position].indent == indent,
                              lines[position].content == "-" || lines[position].content.hasPrefix("- ") {
                        entries[key] = try sequence(indent: indent)
                    } else {
                        entries[key] = .scalar("")
                    }
                } else {
                    entries[key] = try scalar(rest, line: line, parentIndent: indent)
                }
            }
            return .mapping(entries)
        }

        /// A scalar starting with `first` on `line`; lines indented deeper than `parentIndent` that
        /// follow it continue it (PyYAML folds long scalars at 80 columns; a fold reads as a space).
        mutating func scalar(_ first: Substring, line: Line, parentIndent: Int) throws -> YAMLNode {
            position += 1
            var text = String(first)
            while position < lines.count, lines[position].indent > parentIndent {
                let next = lines[position].content
                if text.hasPrefix("\""), text.hasSuffix("\\") {
                    // An escaped line break inside a double-quoted scalar joins without a space.
                    text.removeLast()
                    text += next
                } else {
                    text += " " + next
                }
                position += 1
            }
            switch text {
            case "{}": return .mapping([:])
            case "[]": return .sequence([])
            default: break
            }
            if let marker = text.first, "&*!|>[{".contains(marker) {
                throw ParseError(line: line.number, problem: "unsupported YAML `\(text.prefix(40))`")
            }
            return .scalar(try Self.unquote(Substring(text), line: line.number))
        }

        /// `key: value` or `key:` split at the first `: ` (or the final `:`) outside quotes.
        static func splitEntry(_ content: Substring) -> (key: Substring, rest: Substring)? {
            var quote: Character?
            var index = content.startIndex
            while index < content.endIndex {
                let character = content[index]
                if let open = quote {
                    if character == open { quote = nil }
                } else if character == "'" || character == "\"", index == content.startIndex {
                    quote = character
                } else if character == ":" {
                    let after = content.index(after: index)
                    if after == content.endIndex { return (content[..<index], "") }
                    if content[after] == " " {
                        return (content[..<index], content[content.index(after: after)...].drop(while: { $0 == " " }))
                    }
                }
                index = content.index(after: index)
            }
            return nil
        }

        static func unquote(_ text: Substring, line: Int) throws -> String {
            if text.count >= 2, text.hasPrefix("'"), text.hasSuffix("'") {
                return String(text.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
            }
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
                var result = ""
                var escaped = false
                for character in text.dropFirst().dropLast() {
                    if escaped {
                        switch character {
                        case "n": result.append("\n")
                        case "t": result.append("\t")
                        case "\"", "\\", "/", " ": result.append(character)
                        default: throw ParseError(line: line, problem: "unsupported escape \\\(character)")
                        }
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else {
                        result.append(character)
                    }
                }
                return result
            }
            if text.hasPrefix("'") || text.hasPrefix("\"") {
                throw ParseError(line: line, problem: "unterminated quoted scalar `\(text.prefix(40))`")
            }
            return String(text)
        }
    }
}
