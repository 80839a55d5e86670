import ChatCompletions
import ChatCompletionsTesting
import Foundation
import Resilience
import Testing

/// What the client sends for structured output (max_tokens, seed, the JSON schema), how it falls
/// back when an endpoint rejects a response format, and how a per-query budget ends a request.
@Suite(.serialized) struct StructuredOutputTests {
    static let schema = ResponseFormat.jsonSchema(name: "verdicts", schema: .object([
        .init("verdicts", .array(items: .object([
            .init("critique", .string(minLength: 1, maxLength: 100)),
            .init("score", .number(minimum: -1, maximum: 1)),
        ]), minItems: 2, maxItems: 2)),
        .init("final_score", .number(minimum: -1, maximum: 1)),
    ]))

    static func client(_ server: ChatServerFixture, maxAttempts: Int = 3, timeout: TimeInterval = 20,
                       maxTokens: Int? = 256, repairs: Int = 2) -> ChatCompletionsClient {
        let configuration = LLMEndpointConfiguration(
            baseURL: server.baseURL, model: "test-model", requiresAPIKey: false, timeout: timeout,
            maxAttempts: maxAttempts, backoff: Backoff(initial: .milliseconds(10), maximum: .seconds(1)),
            maxRepairAttempts: repairs, maxTokens: maxTokens)
        return ChatCompletionsClient(configuration: configuration, environment: { [:] })
    }

    // MARK: - What a request carries

    @Test func aRequestCarriesMaxTokensTheSeedAndTheSchemaWithItsPropertyOrder() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "{}"]])])
        defer { server.stop() }
        let client = Self.client(server, maxTokens: 300)

        let reply = try await client.complete([.user("judge")], format: Self.schema, seed: 41)

        #expect(reply.format == .jsonSchema)
        let request = try #require(server.requests().first)
        #expect(request.body["max_tokens"] as? Int == 300)
        #expect(request.body["seed"] as? Int == 41)
        let format = try #require(request.body["response_format"] as? [String: Any])
        #expect(format["type"] as? String == "json_schema")
        let wrapper = try #require(format["json_schema"] as? [String: Any])
        #expect(wrapper["name"] as? String == "verdicts")
        #expect(wrapper["strict"] as? Bool == true)
        let schema = try #require(wrapper["schema"] as? [String: Any])
        #expect(schema["additionalProperties"] as? Bool == false)
        #expect(schema["required"] as? [String] == ["verdicts", "final_score"])
        let verdicts = try #require((schema["properties"] as? [String: Any])?["verdicts"] as? [String: Any])
        #expect(verdicts["minItems"] as? Int == 2)
        #expect(verdicts["maxItems"] as? Int == 2)
        // A constrained decoder writes fields in schema order: the critique before its score, the
        // verdicts before the final score.
        let raw = request.raw
        let critique = try #require(raw.range(of: "\"critique\""))
        let score = try #require(raw.range(of: "\"score\""))
        let final = try #require(raw.range(of: "\"final_score\""))
        #expect(critique.lowerBound < score.lowerBound)
        #expect(score.lowerBound < final.lowerBound)
    }

    @Test func withoutMaxTokensNoneIsSentAndTextSendsNoResponseFormat() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "hello"]])])
        defer { server.stop() }
        let client = Self.client(server, maxTokens: nil)

        _ = try await client.complete([.user("hi")], format: .text)

        let request = try #require(server.requests().first)
        #expect(request.body["max_tokens"] == nil)
        #expect(request.body["seed"] == nil)
        #expect(request.body["response_format"] == nil)
    }

    @Test func theConfiguredFormatIsTheStrongestSent() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "{}"]])])
        defer { server.stop() }
        var configuration = LLMEndpointConfiguration(baseURL: server.baseURL, model: "m", requiresAPIKey: false)
        configuration.responseFormat = .jsonObject
        let client = ChatCompletionsClient(configuration: configuration, environment: { [:] })

        let reply = try await client.complete([.user("x")], format: Self.schema)

        #expect(reply.format == .jsonObject)
        #expect(server.requests().map(\.responseFormatType) == ["json_object"])
    }

    // MARK: - Falling back

    @Test func aServerThatRejectsJSONSchemaGetsJSONObjectAndTheClientRemembers() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "{}"]])],
                                                       rejectResponseFormats: ["json_schema"])
        defer { server.stop() }
        let client = Self.client(server, maxAttempts: 1)
        #expect(client.acceptedResponseFormat == .jsonSchema)

        let first = try await client.complete([.user("one")], format: Self.schema)
        let second = try await client.complete([.user("two")], format: Self.schema)

        // The rejected request is sent again at once; it costs an HTTP attempt but not a retry
        // (maxAttempts is 1 here).
        #expect(first.httpAttempts == 2)
        #expect(first.format == .jsonObject)
        #expect(second.httpAttempts == 1)
        #expect(client.acceptedResponseFormat == .jsonObject)
        #expect(server.requests().map(\.responseFormatType) == ["json_schema", "json_object", "json_object"])
    }

    @Test func aServerThatRejectsEveryResponseFormatGetsNone() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "{\"ok\": true}"]])],
                                                       rejectResponseFormats: ["json_schema", "json_object"])
        defer { server.stop() }
        let client = Self.client(server)

        let result = try await client.requestValidated([.user("x")], format: Self.schema) { object in
            object["ok"] as? Bool == true ? .success(true) : .failure(SchemaViolation(["$.ok is missing"]))
        }

        #expect(result.value)
        #expect(result.httpAttempts == 3)
        #expect(result.asks == 1)
        #expect(client.acceptedResponseFormat == .text)
        #expect(server.requests().map(\.responseFormatType) == ["json_schema", "json_object", nil])
    }

    @Test func anotherClientErrorIsNotTakenForARejectedFormat() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 400]])])
        defer { server.stop() }
        let client = Self.client(server)

        let error = await #expect(throws: ChatCompletionsError.self) {
            _ = try await client.complete([.user("x")], format: Self.schema)
        }

        #expect(error?.code == .httpError)
        #expect(client.acceptedResponseFormat == .jsonSchema)
        #expect(server.requests().count == 1)
    }

    // MARK: - Cut replies

    @Test func aReplyCutAtMaxTokensIsReAskedSayingSo() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [
            ["content": "{\"ok\": tr", "finish_reason": "length"], ["content": "{\"ok\": true}"],
        ])])
        defer { server.stop() }
        let client = Self.client(server, maxTokens: 64)

        let result = try await client.requestValidated([.user("x")], format: .jsonObject) { object in
            object["ok"] as? Bool == true ? .success(true) : .failure(SchemaViolation(["$.ok is missing"]))
        }

        #expect(result.asks == 2)
        let reAsk = try #require(server.requests().last?.messages.last?["content"] as? String)
        #expect(reAsk.contains("cut off at max_tokens (64)"), "\(reAsk)")
    }

    @Test func theReplyReportsItsFinishReasonAndTokens() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "abc", "finish_reason": "length"]])])
        defer { server.stop() }

        let reply = try await Self.client(server).complete([.user("x")], format: .text)

        #expect(reply.wasCut)
        #expect(reply.finishReason == "length")
        #expect(reply.completionTokens == nil)   // the scripted server reports no usage
    }

    // MARK: - Budgets

    @Test func theAttemptBudgetEndsRetriesWithBudgetExhausted() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 500]])])
        defer { server.stop() }
        let client = Self.client(server, maxAttempts: 10)
        let budget = RequestBudget(maxAttempts: 3, timeLimit: .seconds(60))

        let error = await #expect(throws: ChatCompletionsError.self) {
            _ = try await client.complete([.user("x")], budget: budget)
        }

        #expect(error?.code == .budgetExhausted)
        #expect(error?.isRetriable == false)
        #expect(error?.message.contains("3 HTTP attempts") == true, "\(String(describing: error))")
        #expect(error?.message.contains("CDRA_LLM_QUERY_MAX_ATTEMPTS") == true)
        #expect(error?.message.contains("HTTP 500") == true)   // what went wrong before
        #expect(budget.attemptsUsed == 3)
        #expect(server.requests().count == 3)
    }

    @Test func theTimeBudgetCutsARequestThatHangs() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["delay": 10, "content": "{}"]])])
        defer { server.stop() }
        let client = Self.client(server, timeout: 30)
        let budget = RequestBudget(maxAttempts: 10, timeLimit: .seconds(1))
        let started = Date()

        let error = await #expect(throws: ChatCompletionsError.self) {
            _ = try await client.complete([.user("x")], budget: budget)
        }

        let elapsed = Date().timeIntervalSince(started)
        #expect(error?.code == .budgetExhausted)
        #expect(error?.message.contains("CDRA_LLM_QUERY_TIMEOUT") == true, "\(String(describing: error))")
        #expect(elapsed >= 0.9 && elapsed < 4, "gave up after \(elapsed)s; the budget is 1 s")
    }

    @Test func aRetryWaitTheBudgetCannotAffordEndsAtOnce() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 429, "headers": ["Retry-After": "5"]]])])
        defer { server.stop() }
        let configuration = LLMEndpointConfiguration(
            baseURL: server.baseURL, model: "m", requiresAPIKey: false, maxAttempts: 4,
            backoff: Backoff(initial: .milliseconds(10), maximum: .seconds(10)))
        let client = ChatCompletionsClient(configuration: configuration, environment: { [:] })
        let budget = RequestBudget(maxAttempts: 10, timeLimit: .seconds(2))
        let started = Date()

        let error = await #expect(throws: ChatCompletionsError.self) {
            _ = try await client.complete([.user("x")], budget: budget)
        }

        #expect(error?.code == .budgetExhausted)
        #expect(error?.message.contains("HTTP 429") == true, "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 1.5)   // not after the 5 s the server asked for
        #expect(server.requests().count == 1)
    }
}
