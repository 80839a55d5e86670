/// Why a schema could not be loaded, or why a JSON value does not match its schema.
public struct AvroSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure it is.
    public enum Code: String, Sendable, Equatable {
        case schemaNotFound // no readable .avsc file at the expected path
        case invalidSchema  // the .avsc is not a schema this validator understands
        case invalidJSON    // the value to check is not JSON
        case mismatch       // the value does not match the schema
    }
    public var code: Code
    /// Where in the value the problem is, e.g. `payload.annotation.rubric[0].weight`; empty for the root.
    public var path: String
    public var reason: String
    /// A schema or value that is wrong stays wrong.
    public var isRetriable: Bool { false }

    public init(_ code: Code, path: String, _ reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? "\(code.rawValue): \(reason)" : "\(code.rawValue) at '\(path)': \(reason)"
    }
}
