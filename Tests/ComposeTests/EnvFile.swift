import Foundation

/// `Compose/.env`: `NAME=value` lines, `#` comment lines and blank lines, nothing else (no quotes,
/// no `export`, no interpolation), so that what docker-compose reads is exactly what this reads.
struct EnvFile: Sendable {
    /// The variables, in file order.
    var names: [String] = []
    var values: [String: String] = [:]

    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var problem: String
        var description: String { "Compose/.env line \(line): \(problem)" }
    }

    init(_ text: String) throws {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(line: index + 1, problem: "not NAME=value: \(line)")
            }
            let name = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            guard name.range(of: #"^[A-Z][A-Z0-9_]*$"#, options: .regularExpression) != nil else {
                throw ParseError(line: index + 1, problem: "\(name) is not an upper-case variable name")
            }
            guard !value.isEmpty, value.rangeOfCharacter(from: .init(charactersIn: "\"'$ #")) == nil else {
                throw ParseError(line: index + 1, problem: "\(name) must be set to a value without quotes, $, # or spaces")
            }
            guard values[name] == nil else { throw ParseError(line: index + 1, problem: "\(name) is set twice") }
            names.append(name)
            values[name] = value
        }
    }

    subscript(name: String) -> String? { values[name] }
}
