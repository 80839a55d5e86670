/// Why a benchmark could not be built.
public struct DeepPrefBuilderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case invalidConfig
        /// The pack's templates cannot yield enough distinct, non-near-duplicate queries.
        case packTooSmall
    }
    public var code: Code
    public var message: String
    public var isRetriable: Bool { false }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
