import Foundation

/// A model checkpoint as the `checkpoints` table stores it: metadata plus the safetensors bytes.
public struct CheckpointRecord: Sendable, Equatable {
    public var checkpointID: String
    /// `"policy"` or `"prm"`.
    public var modelKind: String
    public var runID: String?
    public var step: Int
    public var parentCheckpointID: String?
    /// Model and training configuration as a JSON object.
    public var configJSON: String
    /// The safetensors file, byte for byte.
    public var safetensors: [UInt8]
    /// Hex SHA-256 of ``safetensors``; computed by the server on save, filled in on load.
    public var sha256: String?
    public var createdAt: Date?

    public init(checkpointID: String, modelKind: String, runID: String? = nil, step: Int,
                parentCheckpointID: String? = nil, configJSON: String = "{}", safetensors: [UInt8]) {
        self.checkpointID = checkpointID
        self.modelKind = modelKind
        self.runID = runID
        self.step = step
        self.parentCheckpointID = parentCheckpointID
        self.configJSON = configJSON
        self.safetensors = safetensors
    }
}
