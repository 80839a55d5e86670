/// Why a model reply does not fit the schema it was asked for; every problem names the field.
public struct SchemaViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]

    public init(_ problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "; ") }
}
