import ChatCompletions
import ChatCompletionsTesting
import Council
import DeepPref
import DeepPrefTesting
import Events
import Foundation
import Resilience
import Settings
import Testing

/// The LLM council against Fixtures/chat_server.py, a local server that speaks the
/// chat-completions protocol and replies from a script.
@Suite(.serialized) struct LLMCouncilTests {
    @Test func validOutputBecomesAnAnnotationWithGroundedCues() async throws {
        let server = try await ChatServerFixture.start(
            routes: [("You are the moderator", [["content": CouncilFixtures.moderatorReply]])] + CouncilFixtures.personaRoutes,
            requireKey: CouncilFixtures.apiKey)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server)))
        let query = CouncilFixtures.query()

        let annotation = try await council.annotate(query)

        #expect(annotation.queryID == "q-1")
        #expect(annotation.backend == "llm:test-model")
        #expect(annotation.validationProblems().isEmpty)
        // Psychologist (fenced, with prose), Security Expert (cue repaired), Pragmatist; the Devil's
        // Advocate's ungrounded cue is dropped.
        #expect(annotation.personaCritiques.map(\.persona) == ["Psychologist", "Security Expert", "Pragmatist"])
        #expect(annotation.personaCritiques.map(\.inferredPreference) == ["low_friction", "privacy", "autonomy"])
        #expect(annotation.personaCritiques[1].quotedCue == "let them know where I am")
        for critique in annotation.personaCritiques {
            #expect(query.question.contains(critique.quotedCue))
        }
        // "budget" rests on words the user never wrote: dropped. "Where I Am" repaired to the verbatim span.
        #expect(annotation.inferredPreferences.map(\.dimension) == ["autonomy", "privacy"])
        #expect(annotation.inferredPreferences[1].evidence == "where I am")
        #expect(annotation.inferredPreferences[1].confidence == 0.7)

        let nodes = Dictionary(uniqueKeysWithValues: annotation.thoughtTree.map { ($0.nodeID, $0) })
        #expect(nodes["0"]?.parentID == nil)
        #expect(nodes["3"]?.parentID == "2")            // repaired from the parent's children
        #expect(nodes["1"]?.pruned == true)
        #expect(nodes["3"]?.pruned == false)            // not given: on the best path 0 → 2 → 3
        #expect(annotation.reasoningChain.map(\.index) == [1, 2, 3, 4, 5])
        #expect(annotation.reasoningChain[1].stage == "implicit_preferences")
        #expect(annotation.rubric.count == 2)
        #expect(annotation.rubric[1].weight == 1.0)
        #expect(annotation.alignedAnswer != annotation.superficialAnswer)

        let requests = server.requests()
        #expect(requests.count == 7)                     // six personas and the moderator
        for request in requests {
            #expect(request.authorization == "Bearer \(CouncilFixtures.apiKey)")
            #expect(request.body["model"] as? String == "test-model")
            #expect(request.responseFormatType == "json_schema")
            #expect(request.body["max_tokens"] as? Int == 2048)
            #expect(request.body["temperature"] as? Double == 0.2)
        }
        let moderator = try #require(requests.first { $0.systemPrompt.contains("You are the moderator") })
        let moderatorInput = moderator.messages.last?["content"] as? String ?? ""
        #expect(moderatorInput.contains("without constantly calling"))
        #expect(!moderatorInput.contains("I hate tracking apps"))
    }

    @Test func malformedJSONIsReAskedWithTheProblemsAndThenAccepted() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("You are the moderator", [["content": "Sure! {\"thought_tree\": [ oops"], ["content": CouncilFixtures.moderatorReply]]),
        ] + CouncilFixtures.personaRoutes)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server)))

        let result = await council.annotateReportingFailure(CouncilFixtures.query())

        let annotation = try result.get()
        #expect(annotation.reasoningChain.count == 5)
        let moderatorRequests = server.requests().filter { $0.route == 0 }
        #expect(moderatorRequests.count == 2)
        let reAsk = moderatorRequests[1].messages
        #expect(reAsk.count == 4)                        // system, user, bad assistant reply, repair request
        #expect(reAsk[2]["role"] as? String == "assistant")
        #expect((reAsk[3]["content"] as? String ?? "").contains("could not be used"))
    }

    @Test func outputFailingTheSchemaEveryTimeGivesAFailureRecord() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("You are the moderator", [["content": CouncilFixtures.badModeratorReply]]),
        ] + CouncilFixtures.personaRoutes)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server, repairs: 2)))

        let result = await council.annotateReportingFailure(CouncilFixtures.query(id: "q-bad"))

        guard case .failure(let failure) = result else {
            Issue.record("expected a failure record")
            return
        }
        #expect(failure.code == .invalidModelOutput)
        #expect(failure.queryID == "q-bad")
        #expect(failure.backend == "llm:test-model")
        #expect(failure.stage == "moderator")
        #expect(failure.reason.contains("score"))
        #expect(failure.attempts == 6 + 3)               // six personas, then three moderator asks
        #expect(failure.lastRawOutput?.contains("3.5") == true)
        #expect(!failure.isRetriable)
        #expect(server.requests().filter { $0.route == 0 }.count == 3)
        await #expect(throws: CouncilError.self) { try await council.annotate(CouncilFixtures.query(id: "q-bad")) }
        do {
            _ = try await council.annotate(CouncilFixtures.query(id: "q-bad"))
        } catch let error as CouncilError {
            #expect(error.code == .invalidModelOutput)
        }
        // The record survives the JSON round trip a dead-letter queue needs.
        let data = try EventCodec.makeEncoder().encode(failure)
        var decoded = try EventCodec.makeDecoder().decode(CouncilFailure.self, from: data)
        #expect(abs(decoded.failedAt.timeIntervalSince(failure.failedAt)) < 0.001)
        decoded.failedAt = failure.failedAt
        #expect(decoded == failure)
    }

    @Test func aReplyThatHangsPastTheTimeoutIsRetriedThenTimesOut() async throws {
        // The scripted reply is valid, but arrives after 8 s: only the timeout can make this fail.
        let server = try await ChatServerFixture.start(routes: [("", [["delay": 8, "content": CouncilFixtures.emptyPersonaReply]])])
        defer { server.stop() }
        let configuration = CouncilFixtures.configuration(server, timeout: 1, maxAttempts: 2)
        let council = LLMCouncil(client: CouncilFixtures.client(configuration),
                                 personas: [CouncilPersona.standard[0]])
        let started = Date()

        let result = await council.annotateReportingFailure(CouncilFixtures.query())

        let elapsed = Date().timeIntervalSince(started)
        guard case .failure(let failure) = result else {
            Issue.record("expected a timeout")
            return
        }
        #expect(failure.code == .timeout)
        #expect(failure.isRetriable)
        #expect(failure.attempts == 2)
        #expect(failure.stage == "persona:Psychologist")
        #expect(elapsed >= 2 && elapsed < 7, "the client waited \(elapsed)s; the timeout is 1 s per attempt")
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(server.requests().count == 2)
    }

    @Test func aHangThenAnAnswerSucceedsOnTheRetry() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("You are the moderator", [["delay": 8, "content": CouncilFixtures.moderatorReply], ["content": CouncilFixtures.moderatorReply]]),
        ] + CouncilFixtures.personaRoutes)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server, timeout: 2, maxAttempts: 3)))
        let annotation = try await council.annotate(CouncilFixtures.query())
        #expect(annotation.thoughtTree.count == 4)
        #expect(server.requests().filter { $0.route == 0 }.count == 2)
    }

    @Test func requestsQueuedBehindTheConcurrencyLimitDoNotTimeOutWhileWaiting() async throws {
        // Six personas, two slots, each reply takes 0.4 s: the last pair waits 0.8 s for a slot,
        // longer than the 0.6 s timeout, and must still succeed because waiting is not sending.
        let server = try await ChatServerFixture.start(routes: [
            ("You are the moderator", [["content": CouncilFixtures.moderatorReply]]),
            ("You are the", [["delay": 0.4, "content": CouncilFixtures.emptyPersonaReply]]),
        ])
        defer { server.stop() }
        var configuration = CouncilFixtures.configuration(server, timeout: 0.6, maxAttempts: 1)
        configuration.maxConcurrentRequests = 2
        let council = LLMCouncil(client: CouncilFixtures.client(configuration))
        let started = Date()

        let annotation = try await council.annotate(CouncilFixtures.query())

        #expect(annotation.reasoningChain.count == 5)
        #expect(Date().timeIntervalSince(started) >= 1.2)   // three rounds of two
        let personaTimes = server.requests().filter { $0.route == 1 }.map(\.time).sorted()
        #expect(personaTimes.count == 6)
        #expect(personaTimes[5] - personaTimes[0] >= 0.75)  // the last pair was sent two rounds later
    }

    @Test func http429HonoursRetryAfterThenSucceeds() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("You are the moderator", [["status": 429, "headers": ["Retry-After": "1"]], ["content": CouncilFixtures.moderatorReply]]),
        ] + CouncilFixtures.personaRoutes)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server)))

        let annotation = try await council.annotate(CouncilFixtures.query())

        #expect(annotation.reasoningChain.count == 5)
        let moderatorRequests = server.requests().filter { $0.route == 0 }
        #expect(moderatorRequests.count == 2)
        let gap = moderatorRequests[1].time - moderatorRequests[0].time
        #expect(gap >= 0.95, "retried after \(gap)s; the server asked for 1 s (the backoff alone is 0.01 s)")
    }

    @Test func http429OnEveryAttemptIsRateLimited() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 429]])])
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server, maxAttempts: 3)),
                                 personas: [CouncilPersona.standard[0]])
        let result = await council.annotateReportingFailure(CouncilFixtures.query())
        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .rateLimited)
        #expect(failure.attempts == 3)
    }

    @Test func serverErrorsAreRetriedThenSucceed() async throws {
        let server = try await ChatServerFixture.start(routes: [
            ("You are the moderator", [["status": 500], ["status": 503], ["content": CouncilFixtures.moderatorReply]]),
        ] + CouncilFixtures.personaRoutes)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server, maxAttempts: 4)))
        let annotation = try await council.annotate(CouncilFixtures.query())
        #expect(annotation.inferredPreferences.count == 2)
        #expect(server.requests().filter { $0.route == 0 }.count == 3)
    }

    @Test func aClientErrorStatusIsNotRetried() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 400]])])
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server, maxAttempts: 4)),
                                 personas: [CouncilPersona.standard[0]])
        let result = await council.annotateReportingFailure(CouncilFixtures.query())
        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .httpError)
        #expect(server.requests().count == 1)
    }

    @Test func aMissingAPIKeyIsAConfigurationErrorAndNothingIsSent() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["content": CouncilFixtures.emptyPersonaReply]])],
                                           requireKey: CouncilFixtures.apiKey)
        defer { server.stop() }
        let council = LLMCouncil(client: CouncilFixtures.client(CouncilFixtures.configuration(server), key: nil))

        let result = await council.annotateReportingFailure(CouncilFixtures.query())

        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .configuration)
        #expect(failure.reason.contains("CDRA_LLM_API_KEY"))
        #expect(failure.attempts == 0)
        #expect(server.requests().isEmpty)
    }

    @Test func theAPIKeyNeverAppearsInErrorsOrFailureRecords() async throws {
        let key = CouncilFixtures.apiKey
        // The server echoes the Authorization header into an error body and into model output.
        let server = try await ChatServerFixture.start(routes: [
            ("You are the Psychologist", [["status": 400, "echo_auth": true]]),
            ("You are the moderator", [["content": "not json", "echo_auth": true]]),
            ("", [["content": CouncilFixtures.emptyPersonaReply]]),
        ])
        defer { server.stop() }
        let configuration = CouncilFixtures.configuration(server, repairs: 1)
        let client = CouncilFixtures.client(configuration)

        let persona = LLMCouncil(client: client, personas: [CouncilPersona.standard[0]])
        let first = await persona.annotateReportingFailure(CouncilFixtures.query())
        guard case .failure(let httpFailure) = first else { Issue.record("expected a failure"); return }
        #expect(httpFailure.code == .httpError)

        let moderator = LLMCouncil(client: client, personas: [CouncilPersona.standard[1]])
        let second = await moderator.annotateReportingFailure(CouncilFixtures.query())
        guard case .failure(let outputFailure) = second else { Issue.record("expected a failure"); return }
        #expect(outputFailure.code == .invalidModelOutput)
        #expect(outputFailure.lastRawOutput?.contains(Redaction.marker) == true)

        for failure in [httpFailure, outputFailure] {
            let encoded = String(decoding: try EventCodec.makeEncoder().encode(failure), as: UTF8.self)
            #expect(!encoded.contains(key))
            #expect(!failure.description.contains(key))
            #expect(!failure.error.description.contains(key))
        }
        #expect(!configuration.description.contains(key))
        // It was sent, as a bearer token, on every request.
        #expect(server.requests().allSatisfy { $0.authorization == "Bearer \(key)" })
    }

    @Test func anUnreachableEndpointIsRetriedThenUnreachable() async throws {
        // A port nobody listens on: bind a server, then stop it.
        let server = try await ChatServerFixture.start(routes: [("", [["content": "{}"]])])
        let url = server.baseURL
        server.stop()
        let configuration = LLMEndpointConfiguration(baseURL: url, model: "m", timeout: 2, maxAttempts: 2,
                                                     backoff: Backoff(initial: .milliseconds(10), maximum: .seconds(30)))
        let council = LLMCouncil(client: CouncilFixtures.client(configuration), personas: [CouncilPersona.standard[0]])
        let result = await council.annotateReportingFailure(CouncilFixtures.query())
        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .unreachable)
        #expect(failure.attempts == 2)
    }

    @Test func anEmptyQuestionIsInvalidInput() async throws {
        let configuration = LLMEndpointConfiguration(baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "m")
        let council = LLMCouncil(client: CouncilFixtures.client(configuration))
        let result = await council.annotateReportingFailure(CouncilFixtures.query(question: "   "))
        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .invalidInput)
    }

    // MARK: - Response formats and the per-query budget

    @Test func aServerWithoutJSONSchemaGetsJSONObjectAndTheQueryStillSucceeds() async throws {
        let server = try await ChatServerFixture.start(
            routes: [("You are the moderator", [["content": CouncilFixtures.moderatorReply]])] + CouncilFixtures.personaRoutes,
            requireKey: CouncilFixtures.apiKey, rejectResponseFormats: ["json_schema"])
        defer { server.stop() }
        var configuration = CouncilFixtures.configuration(server)
        configuration.maxConcurrentRequests = 1   // one persona learns it first; the rest never try
        let client = CouncilFixtures.client(configuration)
        let council = LLMCouncil(client: client)

        let annotation = try await council.annotate(CouncilFixtures.query())

        #expect(annotation.validationProblems().isEmpty)
        #expect(client.acceptedResponseFormat == .jsonObject)
        let formats = server.requests().map(\.responseFormatType)
        #expect(formats == ["json_schema"] + Array(repeating: "json_object", count: 7), "\(formats)")
    }

    @Test func aQueryThatKeepsFailingEndsWithBudgetExhaustedAfterItsAttempts() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["status": 503]])])
        defer { server.stop() }
        var configuration = CouncilFixtures.configuration(server, maxAttempts: 4)
        configuration.queryMaxAttempts = 8
        let council = LLMCouncil(client: CouncilFixtures.client(configuration))

        let result = await council.annotateReportingFailure(CouncilFixtures.query(id: "q-costly"))

        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .budgetExhausted)
        #expect(!failure.isRetriable)
        #expect(failure.reason.contains("8 HTTP attempts"), "\(failure.reason)")
        #expect(failure.reason.contains("CDRA_LLM_QUERY_MAX_ATTEMPTS"))
        #expect(failure.attempts <= 8)
        #expect(failure.stage.hasPrefix("persona:"))
        try await Task.sleep(nanoseconds: 200_000_000)
        // Never more than the budget (six personas × four attempts would have been 24); an attempt the
        // budget counted may still be on its way to the server when the query ends.
        #expect((1...8).contains(server.requests().count), "\(server.requests().count) requests")
        #expect(throws: CouncilError(.budgetExhausted, "\(failure.stage): \(failure.reason)")) {
            throw failure.error
        }
    }

    @Test func aQueryOverItsTimeBudgetEndsPromptlyWithBudgetExhausted() async throws {
        let server = try await ChatServerFixture.start(routes: [("", [["delay": 20, "content": CouncilFixtures.emptyPersonaReply]])])
        defer { server.stop() }
        var configuration = CouncilFixtures.configuration(server, timeout: 30, maxAttempts: 3)
        configuration.queryTimeout = 1.5
        let council = LLMCouncil(client: CouncilFixtures.client(configuration))
        let started = Date()

        let result = await council.annotateReportingFailure(CouncilFixtures.query())

        let elapsed = Date().timeIntervalSince(started)
        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .budgetExhausted)
        #expect(failure.reason.contains("CDRA_LLM_QUERY_TIMEOUT"), "\(failure.reason)")
        #expect(elapsed >= 1.4 && elapsed < 5, "the query took \(elapsed)s; its budget is 1.5 s")
    }
}
