import Resilience

/// A file of benchmark pairs that cannot be read as a whole: our pair JSONL with a line that does
/// not decode, or a PrefEval explicit-preference directory that cannot be listed, holds no files,
/// or has a file that cannot be read, does not parse or maps to no DeepPref topic. The message
/// names the file or line.
public struct PairFileError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case unreadable      // a directory or file that cannot be read, or no files at all
        case malformed       // a line or file that is not what the format requires
        case unmappedTopic   // a PrefEval file whose name maps to no DeepPref topic
    }
    public var code: Code
    public var message: String
    /// A file on disk does not fix itself; never retried.
    public var isRetriable: Bool { false }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
