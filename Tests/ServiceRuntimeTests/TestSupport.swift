#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A thread-safe box for test state shared with closures and services.
final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
    func update(_ body: (inout Value) -> Void) { lock.lock(); body(&value); lock.unlock() }
}

/// Collects log lines written by a ServiceLogHandler.
final class LogLines: @unchecked Sendable {
    private let box = Box<[String]>([])
    func append(_ line: String) { box.update { $0.append(line) } }
    var all: [String] { box.get() }
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A plain TCP client on loopback, written with the same POSIX calls the server uses, so the tests
/// exercise the real socket path.
struct LoopbackClient {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32

    /// Connects to 127.0.0.1:port with a receive timeout.
    init(port: Int, receiveTimeoutSeconds: Int = 5) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var tv = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let err = errno
            Glibc.close(fd)
            throw Failure(description: "connect: errno \(err)")
        }
        self.fd = fd
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads until the server closes the connection (or the receive timeout expires).
    func readAll() throws -> Response {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                if data.isEmpty { throw Failure(description: "recv: errno \(errno) (timeout?)") }
                break
            }
            data.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "no response head in \(text.debugDescription)") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw Failure(description: "bad status line \(lines[0])")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Response(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    func close() { _ = Glibc.close(fd) }

    /// One request on a fresh connection.
    static func request(port: Int, _ raw: String) throws -> Response {
        let client = try LoopbackClient(port: port)
        defer { client.close() }
        client.send(raw)
        return try client.readAll()
    }

    static func get(port: Int, _ path: String) throws -> Response {
        try request(port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n")
    }
}

/// Runs blocking socket calls on a thread of their own. Not on the cooperative pool (the server's
/// health checks run as tasks there, and it has only as many threads as cores), and not on
/// Dispatch's global queue either: on Linux that queue shares its few threads with the pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension LoopbackClient {
    static func get(port: Int, _ path: String) async throws -> Response {
        try await offPool { try get(port: port, path) }
    }

    static func request(port: Int, _ raw: String) async throws -> Response {
        try await offPool { try request(port: port, raw) }
    }
}
