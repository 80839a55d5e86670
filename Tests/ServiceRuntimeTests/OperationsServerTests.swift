#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Metrics
import ServiceRuntime
import Testing

/// Starts a server on a free loopback port, runs `body`, then stops the server and waits for it.
private func withServer(
    healthChecks: [HealthCheck] = [],
    requestTimeout: Duration = .seconds(5),
    connectionTimeout: Duration = .seconds(10),
    maxConnections: Int = 32,
    _ body: (OperationsServer) async throws -> Void
) async throws {
    var configuration = OperationsServer.Configuration(host: "127.0.0.1", port: 0)
    configuration.requestTimeout = requestTimeout
    configuration.connectionTimeout = connectionTimeout
    configuration.maxConnections = maxConnections
    let server = try OperationsServer(configuration: configuration, service: "runtime-test",
                                      healthChecks: healthChecks)
    let running = Task { try await server.run() }
    do {
        try await body(server)
    } catch {
        server.stop()
        try? await running.value
        throw error
    }
    server.stop()
    try await running.value
}

@Suite("OperationsServer over loopback", .timeLimit(.minutes(1)))
struct OperationsServerTests {
    @Test("clients that trickle one byte at a time are cut off at the connection deadline; /health keeps answering")
    func slowClientsCannotHoldTheServer() async throws {
        try await withServer(healthChecks: [HealthCheck("database") { true }], connectionTimeout: .seconds(1),
                             maxConnections: 8) { (server: OperationsServer) async throws in
            let port = server.port
            // Every connection slot is taken by a client that sends its request and then one byte
            // every 150 ms, for up to 8 s: without a deadline on the drain it would hold its
            // thread (and /health would answer 503) for all of that time.
            let holders = (0..<8).map { _ in
                Task { try await offPool { () -> Double in
                    let client = try LoopbackClient(port: port)
                    defer { client.close() }
                    let start = Date()
                    client.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    while Date().timeIntervalSince(start) < 8 {
                        usleep(150_000)
                        let n = Glibc.send(client.fd, "x", 1, Int32(MSG_NOSIGNAL))
                        if n < 0 { return Date().timeIntervalSince(start) } // the server closed
                    }
                    return Date().timeIntervalSince(start)
                } }
            }
            try await Task.sleep(for: .milliseconds(300))
            let clock = ContinuousClock()
            let asked = clock.now
            var healthy = false
            while !healthy, clock.now - asked < .seconds(4) {
                healthy = (try? await LoopbackClient.get(port: port, "/health"))?.status == 200
                if !healthy { try await Task.sleep(for: .milliseconds(100)) }
            }
            let waited = clock.now - asked
            print("slow clients: /health answered 200 after \(waited) with every slot first held by a trickling client")
            #expect(healthy, "/health never answered 200 while slow clients held the connections")
            for holder in holders {
                let heldFor = try await holder.value
                #expect(heldFor < 3, "a trickling client kept its connection for \(heldFor) s; the deadline is 1 s")
            }
        }
    }

    @Test func bindsAFreePortWhenAskedForZero() async throws {
        try await withServer { (server: OperationsServer) async throws in
            #expect(server.port > 0)
            #expect(server.port != 0)
        }
    }

    @Test func metricsExposeACounterIncrementedThroughSwiftMetrics() async throws {
        ServiceMetrics.bootstrap()
        let name = "runtime_test_events_total_\(UInt32.random(in: 0...UInt32.max))"
        Counter(label: name, dimensions: [("topic", "deeppref.queries.v1")]).increment(by: 3)
        try await withServer { (server: OperationsServer) async throws in
            let response = try await LoopbackClient.get(port: server.port, "/metrics")
            #expect(response.status == 200)
            #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(response.body.contains("# TYPE \(name) counter"))
            #expect(response.body.contains("\(name){topic=\"deeppref.queries.v1\"} 3"))
            #expect(Int(response.headers["content-length"] ?? "") == response.body.utf8.count)
            // The server counts its own requests.
            _ = try await LoopbackClient.get(port: server.port, "/nowhere")
            let again = try await LoopbackClient.get(port: server.port, "/metrics")
            #expect(again.body.contains("cdra_http_requests_total{path=\"other\",code=\"404\"}"), "\(again.body)")
        }
    }

    @Test func healthIsOKWhenEveryCheckPasses() async throws {
        let checks = [HealthCheck("database") { true }, HealthCheck("kafka") { true }]
        try await withServer(healthChecks: checks) { (server: OperationsServer) async throws in
            let response = try await LoopbackClient.get(port: server.port, "/health")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            #expect(response.body.contains("\"status\":\"ok\""))
            #expect(response.body.contains("\"checks\":{\"database\":\"ok\",\"kafka\":\"ok\"}"))
        }
    }

    @Test func healthIs503NamingTheFailingCheck() async throws {
        let kafkaUp = Box(true)
        let checks = [HealthCheck("database") { true }, HealthCheck("kafka") { kafkaUp.get() }]
        try await withServer(healthChecks: checks) { (server: OperationsServer) async throws in
            #expect(try await LoopbackClient.get(port: server.port, "/health").status == 200)
            kafkaUp.set(false)
            let down = try await LoopbackClient.get(port: server.port, "/health")
            #expect(down.status == 503)
            #expect(down.body.contains("\"status\":\"failing\""))
            #expect(down.body.contains("\"failing\":[\"kafka\"]"))
            #expect(down.body.contains("\"database\":\"ok\""))
            kafkaUp.set(true)
            #expect(try await LoopbackClient.get(port: server.port, "/health").status == 200)
        }
    }

    @Test func aCheckThatHangsCountsAsTimedOut() async throws {
        let checks = [
            HealthCheck("database") { true },
            HealthCheck("kafka", timeout: .milliseconds(200)) {
                try? await Task.sleep(for: .seconds(30))
                return true
            },
        ]
        try await withServer(healthChecks: checks) { (server: OperationsServer) async throws in
            let started = Date()
            let response = try await LoopbackClient.get(port: server.port, "/health")
            #expect(response.status == 503)
            #expect(response.body.contains("\"kafka\":\"timeout\""))
            #expect(Date().timeIntervalSince(started) < 5)
        }
    }

    @Test func healthWithoutChecksIsOK() async throws {
        try await withServer { (server: OperationsServer) async throws in
            let response = try await LoopbackClient.get(port: server.port, "/health?verbose=1")
            #expect(response.status == 200)
            #expect(response.body.contains("\"checks\":{}"))
        }
    }

    @Test func unknownPathIs404() async throws {
        try await withServer { (server: OperationsServer) async throws in
            #expect(try await LoopbackClient.get(port: server.port, "/").status == 404)
            #expect(try await LoopbackClient.get(port: server.port, "/metricsx").status == 404)
        }
    }

    @Test func nonGETIs405() async throws {
        try await withServer { (server: OperationsServer) async throws in
            let post = try await LoopbackClient.request(
                port: server.port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            #expect(post.status == 405)
            #expect(post.headers["allow"] == "GET, HEAD")
            let delete = try await LoopbackClient.request(port: server.port, "DELETE /health HTTP/1.1\r\n\r\n")
            #expect(delete.status == 405)
        }
    }

    @Test func headAnswersWithoutBody() async throws {
        try await withServer { (server: OperationsServer) async throws in
            let head = try await LoopbackClient.request(port: server.port, "HEAD /health HTTP/1.1\r\n\r\n")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(Int(head.headers["content-length"] ?? "0")! > 0)
        }
    }

    @Test func oversizedHeadersGet431() async throws {
        try await withServer { (server: OperationsServer) async throws in
            let big = "GET /metrics HTTP/1.1\r\nX-Filler: \(String(repeating: "a", count: 9000))\r\n\r\n"
            let response = try await LoopbackClient.request(port: server.port, big)
            #expect(response.status == 431)
            // Just under the limit still works.
            let fits = "GET /health HTTP/1.1\r\nX-Filler: \(String(repeating: "a", count: 8000))\r\n\r\n"
            #expect(try await LoopbackClient.request(port: server.port, fits).status == 200)
        }
    }

    @Test func garbageIs400() async throws {
        try await withServer { (server: OperationsServer) async throws in
            #expect(try await LoopbackClient.request(port: server.port, "hello there\r\n\r\n").status == 400)
            #expect(try await LoopbackClient.request(port: server.port, "GET /health SPDY/3\r\n\r\n").status == 400)
        }
    }

    @Test func aSilentClientDoesNotBlockOthers() async throws {
        // The server would wait 10 s for the silent client; the second request must not wait.
        try await withServer(requestTimeout: .seconds(10)) { (server: OperationsServer) async throws in
            let port = server.port
            let silent = try LoopbackClient(port: port)
            defer { silent.close() }
            let partial = try LoopbackClient(port: port)
            defer { partial.close() }
            partial.send("GET /hea") // a slow client that stalls mid-request
            let started = Date()
            for _ in 0..<5 {
                let response = try await LoopbackClient.get(port: port, "/health")
                #expect(response.status == 200)
            }
            #expect(Date().timeIntervalSince(started) < 3)
        }
    }

    @Test func aSilentClientIsTimedOutWith408() async throws {
        try await withServer(requestTimeout: .milliseconds(300)) { (server: OperationsServer) async throws in
            let port = server.port
            let response = try await offPool {
                let client = try LoopbackClient(port: port, receiveTimeoutSeconds: 5)
                defer { client.close() }
                return try client.readAll()
            }
            #expect(response.status == 408)
        }
    }

    @Test func connectionsBeyondTheLimitGet503() async throws {
        try await withServer(requestTimeout: .seconds(10), maxConnections: 2) { (server: OperationsServer) async throws in
            let port = server.port
            let a = try LoopbackClient(port: port)
            defer { a.close() }
            let b = try LoopbackClient(port: port)
            defer { b.close() }
            // The accept thread registers connections asynchronously; wait until the third is refused.
            var refused = false
            for _ in 0..<50 where !refused {
                let response = try await LoopbackClient.get(port: port, "/health")
                refused = response.status == 503
                if !refused { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(refused)
        }
    }

    @Test func manyRequestsInParallelAllSucceed() async throws {
        try await withServer(healthChecks: [HealthCheck("database") { true }]) { (server: OperationsServer) async throws in
            let port = server.port
            // 24 at once stays under the default limit of 32 connections (beyond it: 503).
            var statuses: [Int] = []
            for _ in 0..<3 {
                statuses += try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<24 {
                        group.addTask { try await LoopbackClient.get(port: port, i % 2 == 0 ? "/health" : "/metrics").status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
            }
            #expect(statuses.count == 72)
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        }
    }

    @Test func stopClosesTheListenerAndWakesOpenConnections() async throws {
        var configuration = OperationsServer.Configuration()
        configuration.requestTimeout = .seconds(30)
        let server = try OperationsServer(configuration: configuration, service: "runtime-test")
        let running = Task { try await server.run() }
        let port = server.port
        #expect(try await LoopbackClient.get(port: port, "/health").status == 200)
        let idle = try LoopbackClient(port: port)
        defer { idle.close() }
        try await Task.sleep(for: .milliseconds(50))
        let started = Date()
        server.stop()
        try await running.value
        // run() returned well before the idle client's 30 s deadline.
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(throws: LoopbackClient.Failure.self) { _ = try LoopbackClient(port: port) }
    }

    @Test func cancellationStopsTheServer() async throws {
        let server = try OperationsServer(configuration: .init(), service: "runtime-test")
        let running = Task { try await server.run() }
        #expect(try await LoopbackClient.get(port: server.port, "/health").status == 200)
        running.cancel()
        try await running.value
        #expect(throws: LoopbackClient.Failure.self) { _ = try LoopbackClient(port: server.port) }
    }

    @Test func invalidHostIsATypedError() {
        #expect(throws: OperationsServerError.self) {
            _ = try OperationsServer(configuration: .init(host: "not-an-ip", port: 0), service: "x")
        }
    }

    @Test func portInUseIsARetriableBindError() throws {
        let first = try OperationsServer(configuration: .init(), service: "a")
        do {
            _ = try OperationsServer(configuration: .init(host: "127.0.0.1", port: first.port), service: "b")
            Issue.record("second bind on port \(first.port) succeeded")
        } catch let error as OperationsServerError {
            #expect(error.code == .bindFailed)
            #expect(error.isRetriable)
        }
    }
}
