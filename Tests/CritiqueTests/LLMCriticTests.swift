import ChatCompletions
import ChatCompletionsTesting
import Critique
import Events
import Foundation
import Resilience
import Testing

/// The LLM critic against chat_server.py, a local server that speaks the chat-completions protocol
/// and replies from a script.
@Suite(.serialized) struct LLMCriticTests {
    static let key = "sk-critic-5be1f0c9a27d"

    static func request(id: String = "r-1", steps: [String] = ["Identify the wish to keep family informed.",
                                                               "Propose 24/7 location tracking."],
                        deadlineMs: Int64? = nil) -> CritiqueRequested {
        CritiqueRequested(requestID: id, queryID: "q-1",
                          profile: UserProfile(profileID: "p-1", statedPreference: "I value my independence.", riskTolerance: "low"),
                          question: "How can I let my family know where I am without constantly calling?",
                          responseID: "resp-\(id)", steps: steps, answer: "Install a tracking app.", deadlineMs: deadlineMs)
    }

    static func critic(_ server: ChatServerFixture, repairs: Int = 2, maxAttempts: Int = 3,
                       key: String? = LLMCriticTests.key) -> LLMCritic {
        let configuration = LLMEndpointConfiguration(
            baseURL: server.baseURL, model: "test-model", timeout: 10, maxAttempts: maxAttempts,
            backoff: Backoff(initial: .milliseconds(10), maximum: .seconds(5)), maxRepairAttempts: repairs)
        let client = ChatCompletionsClient(configuration: configuration, environment: {
            key.map { ["CDRA_LLM_API_KEY": $0] } ?? [:]
        })
        return LLMCritic(client: client)
    }

    static func reply(scores: [Double], answer: Double = -0.5, final: Double = -0.4) -> String {
        jsonText([
            "step_verdicts": scores.enumerated().map { ["critique": "Verdict on step \($0.offset + 1).", "score": $0.element] },
            "answer_verdict": ["critique": "Offers no check-in alternative.", "score": answer],
            "final_score": final,
        ])
    }

    // MARK: - Scored

    @Test func aValidReplyBecomesTheChainWithOneVerdictPerStep() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": Self.reply(scores: [0.7, -0.6])]])],
                                                       requireKey: Self.key)
        defer { server.stop() }
        let critic = Self.critic(server)
        #expect(critic.name == "llm:test-model")
        #expect(critic.checkpointID == nil)

        let outcomes = try await critic.critique([Self.request()])

        guard case let .scored(chain, text, attempts) = try #require(outcomes.first) else {
            Issue.record("expected a scored outcome: \(outcomes)"); return
        }
        #expect(chain.stepVerdicts.map(\.index) == [1, 2])
        #expect(chain.stepVerdicts.map(\.score) == [0.7, -0.6])
        #expect(chain.answerVerdict.score == -0.5)
        #expect(chain.finalScore == -0.4)
        #expect(text == chain.text)
        #expect(try CritiqueChainParser(expectedSteps: 2).parse(text) == chain)
        #expect(attempts == 1)
        let event = outcomes[0].produced(for: Self.request(), checkpointID: critic.checkpointID)
        #expect(event.validationProblems().isEmpty)

        // The request: the evaluator prompt with the numbered steps, and a schema with exactly
        // two step verdicts.
        let sent = try #require(server.requests().first)
        #expect(sent.authorization == "Bearer \(Self.key)")
        #expect(sent.systemPrompt.contains("0.7-0.89 strong"))
        let user = sent.messages.last?["content"] as? String ?? ""
        #expect(user.contains("Step 1: Identify the wish"))
        #expect(user.contains("Step 2: Propose 24/7"))
        #expect(user.contains("I value my independence."))
        #expect(user.contains("Answer: Install a tracking app."))
        #expect(sent.responseFormatType == "json_schema")
        let schema = (sent.body["response_format"] as? [String: Any]).flatMap { $0["json_schema"] as? [String: Any] }
            .flatMap { $0["schema"] as? [String: Any] }
        let steps = (schema?["properties"] as? [String: Any])?["step_verdicts"] as? [String: Any]
        #expect(steps?["minItems"] as? Int == 2)
        #expect(steps?["maxItems"] as? Int == 2)
        #expect(sent.body["seed"] is Int)
        #expect(sent.body["max_tokens"] as? Int == 2048)
    }

    @Test func aWrongVerdictCountIsSampledAgainWithANewSeed() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [
            ["content": Self.reply(scores: [0.7])], ["content": Self.reply(scores: [0.7, 0.2])],
        ])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server).critique([Self.request()])

        guard case let .scored(chain, _, attempts) = outcomes[0] else { Issue.record("expected scored: \(outcomes)"); return }
        #expect(chain.stepVerdicts.count == 2)
        #expect(attempts == 2)
        let sent = server.requests()
        #expect(sent.count == 2)
        // A re-sample, not a re-ask: the same messages, another seed.
        #expect(sent[0].messages.count == 2 && sent[1].messages.count == 2)
        #expect(sent[0].body["seed"] as? Int != sent[1].body["seed"] as? Int)
    }

    // MARK: - Malformed

    @Test func malformedJSONEveryTimeIsReportedMalformedWithTheRawText() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [
            ["content": "Step 1: fine. Score: 0.5"], ["content": "{\"step_verdicts\": ["], ["content": "I cannot judge this."],
        ])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server, repairs: 2).critique([Self.request()])

        guard case let .malformed(text, error, attempts) = outcomes[0] else { Issue.record("expected malformed: \(outcomes)"); return }
        #expect(text == "I cannot judge this.")
        #expect(error.contains("no JSON object"), "\(error)")
        #expect(attempts == 3)
        let seeds = Set(server.requests().compactMap { $0.body["seed"] as? Int })
        #expect(seeds.count == 3)
        // Never scored: the reply event carries no score.
        let event = outcomes[0].produced(for: Self.request(), checkpointID: nil)
        #expect(event.status == .malformed)
        #expect(event.finalScore == nil)
        #expect(event.critiqueText == "I cannot judge this.")
        #expect(event.validationProblems().isEmpty)
    }

    @Test func aScoreOutOfRangeOrABooleanScoreIsNeverScored() async throws {
        let outOfRange = Self.reply(scores: [0.7, 1.5])
        let boolean = "{\"step_verdicts\": [{\"critique\": \"a\", \"score\": true}, {\"critique\": \"b\", \"score\": 0.1}], "
            + "\"answer_verdict\": {\"critique\": \"c\", \"score\": 0}, \"final_score\": 0}"
        let server = try await ChatServerFixture.start(routes: [("", [["content": outOfRange], ["content": boolean]])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server, repairs: 1).critique([Self.request()])

        guard case let .malformed(_, error, attempts) = outcomes[0] else { Issue.record("expected malformed: \(outcomes)"); return }
        #expect(attempts == 2)
        #expect(error.contains("$.step_verdicts[0].score must be a number"), "\(error)")
    }

    @Test func aReplyCutAtMaxTokensSaysSo() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "{\"step_verdicts\": [{\"critique\": \"a", "finish_reason": "length"]])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server, repairs: 0).critique([Self.request()])

        guard case let .malformed(_, error, attempts) = outcomes[0] else { Issue.record("expected malformed: \(outcomes)"); return }
        #expect(attempts == 1)
        #expect(error.contains("cut off at max_tokens (2048)"), "\(error)")
    }

    @Test func aRawTextThatEchoesTheKeyIsScrubbed() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": "no", "echo_auth": true]])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server, repairs: 0).critique([Self.request()])

        guard case let .malformed(text, _, _) = outcomes[0] else { Issue.record("expected malformed: \(outcomes)"); return }
        #expect(!text.contains(Self.key))
        #expect(text.contains("***"))
    }

    // MARK: - Endpoint failures

    @Test func http429HonoursRetryAfterThenScores() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [
            ["status": 429, "headers": ["Retry-After": "1"]], ["content": Self.reply(scores: [0.7, 0.1])],
        ])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server).critique([Self.request()])

        guard case .scored(_, _, let attempts) = outcomes[0] else { Issue.record("expected scored: \(outcomes)"); return }
        #expect(attempts == 1)                 // one generation; the 429 was the client's retry
        let times = server.requests().map(\.time)
        #expect(times.count == 2)
        #expect(times[1] - times[0] >= 0.95, "retried after \(times[1] - times[0])s; the server asked for 1 s")
    }

    @Test func anEndpointThatGivesUpIsAFailedOutcome() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 503]])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server, maxAttempts: 2).critique([Self.request(), Self.request(id: "r-2")])

        #expect(outcomes.count == 2)
        for outcome in outcomes {
            guard case .failed(let reason) = outcome else { Issue.record("expected failed: \(outcome)"); continue }
            #expect(reason.contains("unreachable") && reason.contains("HTTP 503"), "\(reason)")
        }
        #expect(server.requests().count == 4)
    }

    @Test func aMissingKeyFailsTheWholeCallAndSendsNothing() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": Self.reply(scores: [0.7, 0.1])]])])
        defer { server.stop() }

        let error = await #expect(throws: ChatCompletionsError.self) {
            _ = try await Self.critic(server, key: nil).critique([Self.request()])
        }

        #expect(error?.code == .configuration)
        #expect(server.requests().isEmpty)
    }

    @Test func anExpiredDeadlineFailsWithoutARequest() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": Self.reply(scores: [0.7, 0.1])]])])
        defer { server.stop() }
        let past = Int64((Date().timeIntervalSince1970 - 5) * 1000)

        let outcomes = try await Self.critic(server).critique([Self.request(deadlineMs: past)])

        guard case .failed(let reason) = outcomes[0] else { Issue.record("expected failed: \(outcomes)"); return }
        #expect(reason.contains("deadline"))
        #expect(server.requests().isEmpty)
    }

    @Test func aResponseWithoutStepsIsJudgedOnItsAnswer() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": Self.reply(scores: [], answer: 0.3, final: 0.3)]])])
        defer { server.stop() }

        let outcomes = try await Self.critic(server).critique([Self.request(steps: [])])

        guard case let .scored(chain, _, _) = outcomes[0] else { Issue.record("expected scored: \(outcomes)"); return }
        #expect(chain.stepVerdicts.isEmpty)
        #expect(chain.finalScore == 0.3)
    }

    @Test func outcomesKeepTheOrderOfTheRequests() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("r-slow", [["delay": 0.5, "content": Self.reply(scores: [0.1, 0.1], final: 0.1)]]),
            ("", [["content": Self.reply(scores: [0.9, 0.9], final: 0.9)]]),
        ])
        defer { server.stop() }
        // The request id is not in the prompt; route by question instead.
        var slow = Self.request(id: "r-a")
        slow.question = "r-slow: " + slow.question

        let outcomes = try await Self.critic(server).critique([slow, Self.request(id: "r-b")])

        let finals = outcomes.map { outcome -> Double? in
            if case let .scored(chain, _, _) = outcome { return chain.finalScore }
            return nil
        }
        #expect(finals == [0.1, 0.9])
    }
}
