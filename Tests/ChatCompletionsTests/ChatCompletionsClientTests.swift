import ChatCompletions
import ChatCompletionsTesting
import Foundation
import Resilience
import Testing

/// The client against chat_server.py, a local server that speaks the chat-completions protocol
/// and replies from a script. The council and judge tests cover retries and failure records
/// through their backends; these cover what the client decides on its own.
@Suite(.serialized) struct ChatCompletionsClientTests {
    static func configuration(_ server: ChatServerFixture, maxAttempts: Int = 3, backoff: Backoff,
                              maxResponseBytes: Int = LLMEndpointConfiguration.defaultMaxResponseBytes) -> LLMEndpointConfiguration {
        LLMEndpointConfiguration(baseURL: server.baseURL, model: "test-model", requiresAPIKey: false, timeout: 20,
                                 maxAttempts: maxAttempts, backoff: backoff, maxResponseBytes: maxResponseBytes)
    }

    static func client(_ configuration: LLMEndpointConfiguration) -> ChatCompletionsClient {
        ChatCompletionsClient(configuration: configuration, environment: { [:] })
    }

    // MARK: - Response size limit

    @Test(arguments: [false, true])
    func aBodyOverTheLimitFailsAtOnceNamingTheLimit(chunked: Bool) async throws {
        // A 1 MiB reply against a 64 KiB limit: announced by Content-Length, or only seen while reading.
        let server = try await ChatServerFixture.start(routes: [("", [["content_bytes": 1 << 20, "chunked": chunked]])])
        defer { server.stop() }
        let client = Self.client(Self.configuration(server, backoff: Backoff(initial: .milliseconds(10)),
                                                    maxResponseBytes: 64 << 10))

        let error = await #expect(throws: ChatCompletionsError.self) {
            _ = try await client.complete([.user("say a lot")])
        }

        #expect(error?.code == .httpError)
        #expect(error?.isRetriable == false)
        #expect(error?.message.contains("limit of 65536 bytes") == true, "\(String(describing: error))")
        #expect(server.requests().count == 1)            // not retried
    }

    @Test func aBodyUnderTheLimitIsReadWhole() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content_bytes": 30_000, "chunked": true]])])
        defer { server.stop() }
        let client = Self.client(Self.configuration(server, backoff: Backoff(initial: .milliseconds(10)),
                                                    maxResponseBytes: 64 << 10))

        let reply = try await client.complete([.user("say a fair amount")])

        #expect(reply.content.count == 30_000)
        #expect(reply.httpAttempts == 1)
    }

    // MARK: - Backoff

    @Test func retryWaitsAreJitteredAroundTheBackoff() async throws {
        // Eight requests fail once each, at the same time, and retry after their first wait:
        // 1 s ± 50 %. Without jitter the eight waits would differ only by scheduling noise.
        let requests = (0..<8).map { "request \($0)" }
        let server = try await ChatServerFixture.start(
            routes: requests.map { ($0, [["status": 500], ["content": "fine"]]) })
        defer { server.stop() }
        let client = Self.client(Self.configuration(
            server, maxAttempts: 2, backoff: Backoff(initial: .seconds(1), maximum: .seconds(10), jitter: 0.5)))

        try await withThrowingTaskGroup(of: Void.self) { group in
            for text in requests {
                group.addTask { _ = try await client.complete([.user(text)], format: .text) }
            }
            try await group.waitForAll()
        }

        let log = server.requests()
        let waits = requests.indices.map { route -> Double in
            let times = log.filter { $0.route == route }.map(\.time).sorted()
            return times.count == 2 ? times[1] - times[0] : -1
        }
        print("retry waits: " + waits.map { String(format: "%.3f", $0) }.joined(separator: " "))
        for wait in waits {
            #expect(wait >= 0.45 && wait < 2.3, "a wait of \(wait)s is outside 1 s ± 50 %")
        }
        #expect(waits.max()! - waits.min()! > 0.2, "the waits are not jittered: \(waits)")
    }

    @Test func retryAfterIsAFloorUnderTheWaitAndTheMaximumCapsIt() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("floor", [["status": 429, "headers": ["Retry-After": "1"]], ["content": "fine"]]),
            ("cap", [["status": 503, "headers": ["Retry-After": "30"]], ["content": "fine"]]),
        ])
        defer { server.stop() }
        // The backoff alone would wait about 10 ms; the server asks for 1 s, and for 30 s where
        // the maximum is 0.3 s.
        let floor = Self.client(Self.configuration(server, backoff: Backoff(initial: .milliseconds(10), maximum: .seconds(5))))
        let cap = Self.client(Self.configuration(server, backoff: Backoff(initial: .milliseconds(10), maximum: .milliseconds(300))))

        async let floored = floor.complete([.user("floor")], format: .text)
        async let capped = cap.complete([.user("cap")], format: .text)
        #expect(try await floored.httpAttempts == 2)
        #expect(try await capped.httpAttempts == 2)

        let log = server.requests()
        func wait(_ route: Int) -> Double {
            let times = log.filter { $0.route == route }.map(\.time).sorted()
            return times.count == 2 ? times[1] - times[0] : -1
        }
        #expect(wait(0) >= 0.95 && wait(0) < 3, "waited \(wait(0))s; the server asked for 1 s")
        #expect(wait(1) >= 0.2 && wait(1) < 3, "waited \(wait(1))s; the maximum is 0.3 s")
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        #expect(ChatCompletionsClient.retryAfter(["retry-after": "3"]) == .seconds(3))
        #expect(ChatCompletionsClient.retryAfter([:]) == nil)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let inTenSeconds = formatter.string(from: Date().addingTimeInterval(10))
        let wait = ChatCompletionsClient.retryAfter(["retry-after": inTenSeconds]) ?? .seconds(-1)
        #expect(wait > .seconds(7) && wait <= .seconds(10))
    }

    // MARK: - Configuration

    @Test func configurationComesFromTheEnvironment() throws {
        let configuration = try LLMEndpointConfiguration.fromEnvironment([
            "CDRA_LLM_BASE_URL": "http://127.0.0.1:8000/v1/", "CDRA_LLM_MODEL": "qwen",
            "CDRA_LLM_TIMEOUT": "12", "CDRA_LLM_MAX_ATTEMPTS": "5", "CDRA_LLM_API_KEY": "secret-value",
        ])
        #expect(configuration.chatCompletionsURL.absoluteString == "http://127.0.0.1:8000/v1/chat/completions")
        #expect(configuration.model == "qwen")
        #expect(configuration.timeout == 12)
        #expect(configuration.maxAttempts == 5)
        #expect(configuration.apiKeyEnvironmentVariable == "CDRA_LLM_API_KEY")
        #expect(!configuration.description.contains("secret-value"))

        #expect(throws: ChatCompletionsError(.configuration, "CDRA_LLM_BASE_URL is not set (e.g. http://127.0.0.1:8000/v1)")) {
            try LLMEndpointConfiguration.fromEnvironment(["CDRA_LLM_MODEL": "m"])
        }
        #expect(throws: ChatCompletionsError.self) {
            try LLMEndpointConfiguration.fromEnvironment(["CDRA_LLM_BASE_URL": "ftp://x", "CDRA_LLM_MODEL": "m"])
        }
        #expect(throws: ChatCompletionsError.self) {
            try LLMEndpointConfiguration.fromEnvironment(["CDRA_LLM_BASE_URL": "http://x/v1", "CDRA_LLM_MODEL": "m", "CDRA_LLM_TIMEOUT": "soon"])
        }
    }

    @Test func backoffAndResponseLimitHaveDefaultsAndComeFromTheEnvironment() throws {
        let defaults = LLMEndpointConfiguration(baseURL: URL(string: "http://127.0.0.1:8000/v1")!, model: "m")
        #expect(defaults.backoff == Backoff(initial: .milliseconds(500), maximum: .seconds(30), jitter: 0.2))
        #expect(defaults.maxResponseBytes == 4 * 1024 * 1024)

        let base = ["CDRA_LLM_BASE_URL": "http://x/v1", "CDRA_LLM_MODEL": "m"]
        let configured = try LLMEndpointConfiguration.fromEnvironment(base.merging([
            "CDRA_LLM_INITIAL_BACKOFF": "0.25", "CDRA_LLM_MAX_RESPONSE_BYTES": "100000",
        ]) { $1 })
        #expect(configured.backoff.initial == .milliseconds(250))
        #expect(configured.backoff.maximum == .seconds(30))
        #expect(configured.maxResponseBytes == 100_000)

        for (name, value) in [("CDRA_LLM_MAX_RESPONSE_BYTES", "lots"), ("CDRA_LLM_INITIAL_BACKOFF", "-1"),
                              ("CDRA_LLM_TIMEOUT", "soon"), ("CDRA_LLM_REQUIRE_KEY", "maybe")] {
            let error = #expect(throws: ChatCompletionsError.self) {
                try LLMEndpointConfiguration.fromEnvironment(base.merging([name: value]) { $1 })
            }
            #expect(error?.code == .configuration)
            #expect(error?.message.contains(name) == true, "\(String(describing: error)) does not name \(name)")
        }
    }

    @Test func outputLimitsAndTheQueryBudgetHaveDefaultsAndComeFromTheEnvironment() throws {
        let defaults = LLMEndpointConfiguration(baseURL: URL(string: "http://127.0.0.1:8000/v1")!, model: "m")
        #expect(defaults.maxTokens == 2048)
        #expect(defaults.responseFormat == .jsonSchema)
        #expect(defaults.queryMaxAttempts == 20)
        #expect(defaults.queryTimeout == 300)

        let base = ["CDRA_LLM_BASE_URL": "http://x/v1", "CDRA_LLM_MODEL": "m"]
        let configured = try LLMEndpointConfiguration.fromEnvironment(base.merging([
            "CDRA_LLM_MAX_TOKENS": "512", "CDRA_LLM_RESPONSE_FORMAT": "JSON_OBJECT",
            "CDRA_LLM_QUERY_MAX_ATTEMPTS": "9", "CDRA_LLM_QUERY_TIMEOUT": "42.5",
        ]) { $1 })
        #expect(configured.maxTokens == 512)
        #expect(configured.responseFormat == .jsonObject)
        #expect(configured.queryMaxAttempts == 9)
        #expect(configured.queryTimeout == 42.5)
        #expect(configured.description.contains("max_tokens=512 response_format=json_object query_max_attempts=9"))
        #expect(try LLMEndpointConfiguration.fromEnvironment(base.merging(["CDRA_LLM_MAX_TOKENS": "0"]) { $1 }).maxTokens == nil)

        for (name, value) in [("CDRA_LLM_MAX_TOKENS", "-3"), ("CDRA_LLM_RESPONSE_FORMAT", "xml"),
                              ("CDRA_LLM_QUERY_MAX_ATTEMPTS", "0"), ("CDRA_LLM_QUERY_TIMEOUT", "never")] {
            let error = #expect(throws: ChatCompletionsError.self) {
                try LLMEndpointConfiguration.fromEnvironment(base.merging([name: value]) { $1 })
            }
            #expect(error?.code == .configuration)
            #expect(error?.message.contains(name) == true, "\(String(describing: error)) does not name \(name)")
        }
    }

    // MARK: - JSON schema text

    @Test func aSchemaIsStrictAndKeepsItsPropertyOrder() throws {
        let schema = JSONSchema.object([
            .init("zeta", .string(minLength: 1, maxLength: 5)),
            .init("alpha", .array(items: .nullableString(maxLength: 3), minItems: 1, maxItems: 2)),
            .init("mid \"quoted\"", .number(minimum: -1, maximum: 0.5)),
            .init("stage", .string(allowed: ["a", "b"])),
            .init("flag", .boolean),
        ])
        #expect(schema.jsonText == "{\"type\":\"object\",\"properties\":{"
            + "\"zeta\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":5},"
            + "\"alpha\":{\"type\":\"array\",\"items\":{\"type\":[\"string\",\"null\"],\"maxLength\":3},\"minItems\":1,\"maxItems\":2},"
            + "\"mid \\\"quoted\\\"\":{\"type\":\"number\",\"minimum\":-1,\"maximum\":0.5},"
            + "\"stage\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"
            + "\"flag\":{\"type\":\"boolean\"}},"
            + "\"required\":[\"zeta\",\"alpha\",\"mid \\\"quoted\\\"\",\"stage\",\"flag\"],\"additionalProperties\":false}")
        // And it is JSON.
        let parsed = try JSONSerialization.jsonObject(with: Data(schema.jsonText.utf8)) as? [String: Any]
        #expect((parsed?["required"] as? [String])?.count == 5)
    }
}
