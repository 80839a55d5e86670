/// A record that could not be read: where it is and why. Readers collect these instead of
/// stopping or skipping silently.
public struct RecordProblem: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The file as given to the reader.
    public var file: String
    /// 1-based line where the record starts; 0 when the problem concerns the whole file.
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}
