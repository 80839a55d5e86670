/// A knowledge pack that cannot be used: a missing or unreadable file, bad JSON, or a value that
/// breaks a rule. `file` and `field` name exactly where, e.g. `dimensions/privacy.json` and
/// `cue_sentences[3]`.
public struct KnowledgePackError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case missingFile
        case malformedJSON
        case invalidValue
        case unknownReference
    }
    public var code: Code
    public var file: String
    public var field: String
    public var message: String
    /// A pack on disk does not fix itself; never retried.
    public var isRetriable: Bool { false }

    public init(_ code: Code, file: String, field: String, _ message: String) {
        self.code = code
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String { "knowledge pack \(file): \(field): \(message) (\(code.rawValue))" }
}
