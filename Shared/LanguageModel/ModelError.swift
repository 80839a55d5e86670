/// An error from building, loading or running a model.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// A configuration value is out of range.
        case invalidConfiguration
        /// Batch or sequence shape does not fit the model.
        case invalidShape
        /// A token id is outside the vocabulary.
        case invalidToken
        /// The checkpoint ends before the data its header promises.
        case truncatedCheckpoint
        /// The checkpoint header is not valid safetensors JSON or lacks a required field.
        case malformedCheckpoint
        /// The tensor data does not match the checksum written with it.
        case corruptedCheckpoint
        /// The checkpoint's tensors do not match the configuration it declares.
        case mismatchedCheckpoint
        /// The tokenizer description could not be read.
        case malformedTokenizer
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Model errors come from bad inputs or bad bytes: retrying gives the same answer.
    public var isRetriable: Bool { false }

    public var description: String { "\(code.rawValue): \(message)" }
}
