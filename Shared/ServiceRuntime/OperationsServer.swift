import Bus
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Resilience

/// The operations HTTP/1.1 server: `GET /metrics` (Prometheus text format 0.0.4) and
/// `GET /health` (200 when every ``HealthCheck`` passes, 503 naming the failing ones).
///
/// Written on POSIX sockets rather than SwiftNIO: two read-only endpoints scraped a few times a
/// minute do not justify an event-loop dependency. One dedicated thread accepts; each connection
/// gets its own short-lived thread with a deadline, so a slow or silent client holds only its own
/// thread, never the accept loop or the cooperative thread pool. Every response closes the
/// connection (no keep-alive), which keeps the state machine trivial.
///
/// The socket is bound in `init`, so ``port`` is known (also for port 0) before ``run()``.
public final class OperationsServer: Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// IPv4 address to bind; "localhost" means 127.0.0.1.
        /// Default: "127.0.0.1"
        public var host = "127.0.0.1"
        /// Port to bind; 0 picks a free one.
        /// Default: 0
        public var port = 0
        /// Time a client has to send its complete request head; after it, 408 and close.
        /// Default: 5 seconds
        public var requestTimeout: Duration = .seconds(5)
        /// Longest a connection may live from accept to close: reading the head, running the
        /// health checks, sending the response and draining included. One absolute deadline, so a
        /// client that reads or writes one byte at a time cannot hold a connection thread longer.
        /// Default: 10 seconds
        public var connectionTimeout: Duration = .seconds(10)
        /// Largest request head (request line + headers); larger gets 431.
        /// Default: 8192
        public var maxHeaderBytes = 8192
        /// Connections served at once; more get an immediate 503.
        /// Default: 32
        public var maxConnections = 32

        public init(host: String = "127.0.0.1", port: Int = 0) {
            self.host = host
            self.port = port
        }
    }

    public let configuration: Configuration
    /// The port actually bound (the chosen one when the configuration says 0).
    public let port: Int
    public var host: String { configuration.host }

    private let service: String
    private let healthChecks: [HealthCheck]
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger

    private let listenFD: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private struct State {
        var started = false
        var stopping = false
        var finished = false
        var shuttingDownReported = false
        var activeConnections: Set<Int32> = []
        var finishedWaiter: CheckedContinuation<Void, Never>?
    }
    private let state = Locked(State())
    private let connectionsDrained = NSCondition()

    public init(configuration: Configuration, service: String, healthChecks: [HealthCheck] = [],
                registry: PrometheusCollectorRegistry = ServiceMetrics.registry,
                logger: Logger = Logger(label: "cdra.operations-server")) throws {
        precondition(configuration.maxHeaderBytes > 0 && configuration.maxConnections > 0)
        precondition(configuration.requestTimeout > .zero)
        precondition(configuration.connectionTimeout > .zero)
        guard let address = Self.ipv4Address(configuration.host) else {
            throw OperationsServerError(.invalidHost, "'\(configuration.host)' is not an IPv4 address")
        }
        guard (0...65535).contains(configuration.port) else {
            throw OperationsServerError(.bindFailed, "port \(configuration.port) is outside 0...65535")
        }
        self.configuration = configuration
        self.service = service
        self.healthChecks = healthChecks
        self.registry = registry
        self.logger = logger

        #if canImport(Glibc)
        let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let streamType = SOCK_STREAM
        #endif
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw OperationsServerError(.socketFailed, "socket() failed", errno: errno) }
        var one: Int32 = 1
        // Lets a restarted service rebind its port while old connections sit in TIME_WAIT.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        // Non-blocking so an accept() after a client vanished between poll() and accept() returns
        // EAGAIN instead of hanging the accept thread.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)

        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(configuration.port).bigEndian)
        addr.sin_addr = address
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let err = errno
            close(fd)
            throw OperationsServerError(.bindFailed, "bind \(configuration.host):\(configuration.port): \(String(cString: strerror(err)))", errno: err)
        }
        guard listen(fd, 64) == 0 else {
            let err = errno
            close(fd)
            throw OperationsServerError(.listenFailed, "listen: \(String(cString: strerror(err)))", errno: err)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))

        // A self-pipe wakes the accept thread's poll() on shutdown.
        var pipeFDs: [Int32] = [0, 0]
        let piped = pipe(&pipeFDs)
        if piped == 0 {
            _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        }
        guard piped == 0 else {
            let err = errno
            close(fd)
            throw OperationsServerError(.socketFailed, "pipe: \(String(cString: strerror(err)))", errno: err)
        }
        self.listenFD = fd
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
    }

    deinit {
        // run() closes the listening socket when it ends; this covers a server never run.
        let started = state.current.started
        if !started { close(listenFD) }
        close(wakeRead)
        close(wakeWrite)
    }

    /// Parses an IPv4 literal ("localhost" is accepted as 127.0.0.1).
    public static func ipv4Address(_ host: String) -> in_addr? {
        var address = in_addr()
        let literal = host == "localhost" ? "127.0.0.1" : host
        return inet_pton(AF_INET, literal, &address) == 1 ? address : nil
    }

    // MARK: - Lifecycle

    /// Serves until graceful shutdown or cancellation, then stops accepting, wakes in-flight
    /// connections and returns once every connection thread has finished.
    public func run() async throws {
        let alreadyStarted = state.withLock { s -> Bool in
            defer { s.started = true }
            return s.started
        }
        precondition(!alreadyStarted, "OperationsServer.run() may be called only once")
        let acceptThread = Thread { [self] in acceptLoop() }
        acceptThread.name = "operations-http-accept"
        acceptThread.start()
        logger.info("operations server listening", metadata: [
            "address": "\(configuration.host):\(port)", "endpoints": "/metrics /health",
        ])

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let finishedAlready = state.withLock { s -> Bool in
                        if s.finished { return true }
                        s.finishedWaiter = continuation
                        return false
                    }
                    if finishedAlready { continuation.resume() }
                }
            } onGracefulShutdown: { [self] in
                stop()
            }
        } onCancel: { [self] in
            stop()
        }
        logger.info("operations server stopped")
    }

    /// Stops the server; idempotent, callable from any thread.
    public func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopping = true }
            return !s.stopping
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// From now on `/health` answers 503 "shutting_down", so load balancers stop sending work
    /// while the service drains. The runner calls it when graceful shutdown begins.
    public func reportShuttingDown() {
        state.withLock { $0.shuttingDownReported = true }
    }

    // MARK: - Accept loop (dedicated thread)

    private func acceptLoop() {
        var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("operations server poll failed", metadata: ["errno": "\(errno)"])
                break
            }
            if fds[1].revents != 0 || state.current.stopping { break }
            guard fds[0].revents != 0 else { continue }
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                let err = errno
                if err == EMFILE || err == ENFILE {
                    // Out of descriptors: back off instead of spinning on a readable socket.
                    usleep(50_000)
                }
                continue
            }
            // Not inherited by a child process; the listener is non-blocking but a client socket
            // must block (reads are bounded by poll() with the request deadline instead).
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK)
            let admitted = state.withLock { s -> Bool in
                guard s.activeConnections.count < configuration.maxConnections, !s.stopping else { return false }
                s.activeConnections.insert(client)
                return true
            }
            guard admitted else {
                send(client, HTTPResponse.plain(503, "too many connections\n").bytes(includeBody: true),
                     closeBy: ContinuousClock.now + .milliseconds(100))
                close(client)
                continue
            }
            let worker = Thread { [self] in
                serve(client)
                close(client)
                state.withLock { _ = $0.activeConnections.remove(client) }
                connectionsDrained.lock()
                connectionsDrained.broadcast()
                connectionsDrained.unlock()
            }
            worker.name = "operations-http-conn"
            worker.start()
        }
        close(listenFD)

        // Wake connection threads blocked in poll()/recv() and wait for them to finish, so run()
        // returns only when no thread touches this object any more.
        for fd in state.current.activeConnections { shutdown(fd, Int32(SHUT_RDWR)) }
        connectionsDrained.lock()
        while !state.current.activeConnections.isEmpty {
            _ = connectionsDrained.wait(until: Date().addingTimeInterval(0.1))
            for fd in state.current.activeConnections { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        connectionsDrained.unlock()

        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.finishedWaiter = nil }
            return s.finishedWaiter
        }
        waiter?.resume()
    }

    // MARK: - One connection (its own thread)

    private func serve(_ fd: Int32) {
        let clock = ContinuousClock()
        let closeBy = clock.now + configuration.connectionTimeout
        let deadline = min(clock.now + configuration.requestTimeout, closeBy)

        var head: [UInt8] = []
        head.reserveCapacity(1024)
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headEnd: Int?
        while headEnd == nil {
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                respond(fd, .plain(408, "request timeout\n"), path: "-", closeBy: closeBy)
                return
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(clamping: Self.milliseconds(remaining) + 1))
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if ready == 0 { continue } // the deadline check above answers 408
            if state.current.stopping, pfd.revents & Int16(POLLIN) == 0 { return }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return } // client closed before finishing its request
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            let searchFrom = max(0, head.count - 3)
            head.append(contentsOf: chunk[0..<n])
            headEnd = Self.endOfHead(head, from: searchFrom)
            if let end = headEnd, end > configuration.maxHeaderBytes {
                headEnd = nil
            }
            if headEnd == nil, head.count >= configuration.maxHeaderBytes {
                respond(fd, .plain(431, "request header fields too large\n"), path: "-", closeBy: closeBy)
                return
            }
        }

        guard let request = HTTPRequestHead(head[0..<headEnd!]) else {
            respond(fd, .plain(400, "bad request\n"), path: "-", closeBy: closeBy)
            return
        }
        let path = request.path
        let pathLabel = (path == "/metrics" || path == "/health") ? path : "other"
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = HTTPResponse.plain(405, "method not allowed\n")
            response.headers.append(("Allow", "GET, HEAD"))
            respond(fd, response, path: pathLabel, closeBy: closeBy)
            return
        }
        let response: HTTPResponse
        switch path {
        case "/metrics":
            response = HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                    body: registry.emitToBuffer())
        case "/health":
            response = healthResponse()
        default:
            response = .plain(404, "not found\n")
        }
        respond(fd, response, path: pathLabel, includeBody: request.method == "GET", closeBy: closeBy)
    }

    /// Index just past the blank line ending the request head, if it has arrived.
    static func endOfHead(_ bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = start
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return nil
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    /// Sends the response, half-closes and drains, all before `closeBy`.
    private func respond(_ fd: Int32, _ response: HTTPResponse, path: String, includeBody: Bool = true,
                         closeBy: ContinuousClock.Instant) {
        Counter(label: "cdra_http_requests_total",
                dimensions: [("path", path), ("code", String(response.status))]).increment()
        send(fd, response.bytes(includeBody: includeBody), closeBy: closeBy)
        // Half-close, then drain what the client still sends (say, the rest of an oversized
        // head) before closing: closing with unread input makes the kernel send RST, and the
        // client could lose the response. The drain ends after 200 ms of quiet, 64 KiB, or at the
        // connection's deadline, whichever comes first.
        shutdown(fd, Int32(SHUT_WR))
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var scratch = [UInt8](repeating: 0, count: 4096)
        var drained = 0
        while drained < 65536 {
            let remaining = Self.milliseconds(ContinuousClock.now.duration(to: closeBy))
            guard remaining > 0, poll(&pfd, 1, Int32(clamping: min(200, remaining))) > 0 else { break }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            drained += n
        }
    }

    /// Writes `bytes` unless the deadline passes first: each `send` may block only for the time
    /// that is left, so a client that reads slowly is cut off at the deadline.
    private func send(_ fd: Int32, _ bytes: [UInt8], closeBy: ContinuousClock.Instant) {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        var offset = 0
        while offset < bytes.count {
            let remaining = ContinuousClock.now.duration(to: closeBy)
            guard Self.milliseconds(remaining) > 0 else { return }
            setSendTimeout(fd, remaining)
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, flags)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return // timed out or the client went away
            }
            offset += n
        }
    }

    private func setSendTimeout(_ fd: Int32, _ timeout: Duration) {
        let ms = Self.milliseconds(timeout)
        var tv = timeval(tv_sec: Int(ms / 1000), tv_usec: Int(ms % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    // MARK: - /health

    /// Outcome of one check.
    enum CheckOutcome: String { case ok, failing, timeout }

    /// Runs every check concurrently, each bounded by its own timeout, and waits on this
    /// connection thread (never on the cooperative pool). A check that ignores its timeout is
    /// cancelled and reported as "timeout".
    func evaluateHealthChecks() -> [(name: String, outcome: CheckOutcome)] {
        guard !healthChecks.isEmpty else { return [] }
        let clock = ContinuousClock()
        let start = clock.now
        let results = Locked([Int: (Bool, Duration)]())
        let done = DispatchSemaphore(value: 0)
        var tasks: [Task<Void, Never>] = []
        for (index, check) in healthChecks.enumerated() {
            let body = check.check
            tasks.append(Task {
                let ok = await body()
                let elapsed = start.duration(to: ContinuousClock().now)
                results.withLock { $0[index] = (ok, elapsed) }
                done.signal()
            })
        }
        let longest = healthChecks.map(\.timeout).max()!
        let deadline = DispatchTime.now() + .nanoseconds(Int(Self.milliseconds(longest) * 1_000_000))
        for _ in healthChecks {
            if done.wait(timeout: deadline) == .timedOut { break }
        }
        for task in tasks { task.cancel() }
        let finished = results.current
        return healthChecks.enumerated().map { index, check in
            guard let (ok, elapsed) = finished[index], elapsed <= check.timeout else {
                return (check.name, .timeout)
            }
            return (check.name, ok ? .ok : .failing)
        }
    }

    private func healthResponse() -> HTTPResponse {
        let outcomes = evaluateHealthChecks()
        let shuttingDown = state.current.shuttingDownReported
        let failing = outcomes.filter { $0.outcome != .ok }.map(\.name)
        let status = shuttingDown ? "shutting_down" : (failing.isEmpty ? "ok" : "failing")
        var body = "{\"status\":\(JSONText.quoted(status)),\"service\":\(JSONText.quoted(service))"
        if !failing.isEmpty {
            body += ",\"failing\":[" + failing.map(JSONText.quoted).joined(separator: ",") + "]"
        }
        body += ",\"checks\":{"
            + outcomes.map { "\(JSONText.quoted($0.name)):\(JSONText.quoted($0.outcome.rawValue))" }
                .joined(separator: ",")
            + "}}\n"
        return HTTPResponse(status: status == "ok" ? 200 : 503, contentType: "application/json",
                            body: Array(body.utf8))
    }
}

// MARK: - Request and response

/// The request line of an HTTP/1.x request head; headers are not needed by either endpoint.
struct HTTPRequestHead {
    var method: String
    var target: String
    var version: String
    var path: String { String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) }

    init?(_ head: ArraySlice<UInt8>) {
        guard let lineEnd = head.firstIndex(of: 13) ?? head.firstIndex(of: 10),
              let line = String(bytes: head[head.startIndex..<lineEnd], encoding: .utf8)
        else { return nil }
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].hasPrefix("/"),
              parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0"
        else { return nil }
        method = String(parts[0])
        target = String(parts[1])
        version = String(parts[2])
    }
}

struct HTTPResponse {
    var status: Int
    var contentType: String
    var body: [UInt8]
    var headers: [(String, String)] = []

    static func plain(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    static let reasons: [Int: String] = [
        200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
        408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Service Unavailable",
    ]

    func bytes(includeBody: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reasons[status] ?? "Status")\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        head += "Cache-Control: no-store\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (includeBody ? body : [])
    }
}
