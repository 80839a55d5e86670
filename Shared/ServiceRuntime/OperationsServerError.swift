/// Why the operations HTTP server could not start.
public struct OperationsServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case invalidHost   // not an IPv4 address
        case socketFailed  // socket(), pipe() or a socket option failed
        case bindFailed    // the address is taken or not local (errno says which)
        case listenFailed
    }
    public var code: Code
    public var reason: String
    /// The errno of the failing call, 0 when none.
    public var errno: Int32

    /// A taken port (EADDRINUSE) may free up, so a supervisor may retry; anything else is a
    /// configuration mistake that repeats.
    public var isRetriable: Bool { code == .bindFailed && errno == 98 /* EADDRINUSE */ }

    public init(_ code: Code, _ reason: String, errno: Int32 = 0) {
        self.code = code
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
