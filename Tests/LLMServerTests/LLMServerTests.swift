import ChatCompletions
import ChatCompletionsTesting
import Council
import Critique
import DeepPref
import DeepPrefTesting
import Events
import Foundation
import Resilience
import Testing

/// The LLM backends against a real OpenAI-compatible server: llama.cpp serving SmolLM2-135M-Instruct
/// on 127.0.0.1 (LlamaServerFixture). The model is far too small to reason well, so these tests
/// check the protocol, the schemas and the failure handling, never what the model means.
@Suite(.serialized, .llamaServer) struct LLMServerTests {
    static func configuration(_ server: LlamaServerFixture, maxTokens: Int? = 1024, maxAttempts: Int = 2,
                              queryMaxAttempts: Int = 12, queryTimeout: TimeInterval = 150) -> LLMEndpointConfiguration {
        // Four requests in flight, as the server has four slots: the rest wait in the client, where
        // their timeout has not started yet.
        LLMEndpointConfiguration(baseURL: server.baseURL, model: LlamaServerFixture.modelName, requiresAPIKey: false,
                                 timeout: 90, maxAttempts: maxAttempts,
                                 backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(2)),
                                 maxRepairAttempts: 2, maxConcurrentRequests: 4, maxTokens: maxTokens,
                                 queryMaxAttempts: queryMaxAttempts, queryTimeout: queryTimeout)
    }

    static func client(_ configuration: LLMEndpointConfiguration) -> ChatCompletionsClient {
        ChatCompletionsClient(configuration: configuration, environment: { [:] })
    }

    static let queries = [
        CouncilFixtures.query(id: "real-1"),
        CouncilFixtures.query(id: "real-2", question: "Can you suggest a weekly meal plan that does not take much time? "
                              + "I work late most days and I am trying to spend less."),
    ]

    static func critiqueRequest(id: String, steps: [String]) -> CritiqueRequested {
        CritiqueRequested(requestID: id, queryID: "q-\(id)",
                          profile: UserProfile(profileID: "p-1", statedPreference: "I value my independence."),
                          question: CouncilFixtures.question, responseID: "resp-\(id)", steps: steps,
                          answer: "Share a check-in message when you arrive instead of live tracking.")
    }

    // MARK: - The endpoint

    @Test func maxTokensIsHonoured() async throws {
        let client = Self.client(Self.configuration(try SharedLlamaServer.server(), maxTokens: 12))

        let reply = try await client.complete([.user("Write a long story about a lighthouse keeper.")], format: .text)

        #expect(reply.wasCut, "finish_reason \(reply.finishReason ?? "none")")
        let tokens = try #require(reply.completionTokens)
        #expect(tokens <= 12)
    }

    @Test func aJSONSchemaIsSentAndEnforced() async throws {
        let client = Self.client(Self.configuration(try SharedLlamaServer.server(), maxTokens: 200))
        let format = ResponseFormat.jsonSchema(name: "colours", schema: .object([
            .init("colours", .array(items: .string(allowed: ["red", "green", "blue"]), minItems: 1, maxItems: 2)),
            .init("note", .string(minLength: 1, maxLength: 40)),
        ]))

        let reply = try await client.complete([.user("Name your favourite colours, as JSON.")], format: format)

        #expect(reply.format == .jsonSchema)
        #expect(client.acceptedResponseFormat == .jsonSchema)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.content.utf8)) as? [String: Any],
                                  "not a JSON object: \(reply.content)")
        #expect(Set(object.keys) == ["colours", "note"])
        let colours = try #require(object["colours"] as? [String])
        #expect((1...2).contains(colours.count))
        #expect(Set(colours).isSubset(of: ["red", "green", "blue"]))
        let note = try #require(object["note"] as? String)
        #expect((1...40).contains(note.count))
    }

    // MARK: - The council

    @Test func theCouncilAnnotatesTwoQueriesWithinItsBudget() async throws {
        let server = try SharedLlamaServer.server()
        // A 60 s budget per query: on a machine shared with other work the 135M model can need more
        // for a moderator reply, and then the query must end with budgetExhausted, never hang.
        let configuration = Self.configuration(server, queryTimeout: 60)
        let client = Self.client(configuration)
        // One persona and the compact limits keep the run short (the 135M model fills every list
        // and text to its limit); the moderator and the protocol are the same.
        let council = LLMCouncil(client: client, personas: [CouncilPersona.standard[3]], outputLimits: .compact)
        let started = Date()

        async let first = council.annotateReportingFailure(Self.queries[0])
        async let second = council.annotateReportingFailure(Self.queries[1])
        let results = await [first, second]

        let elapsed = Date().timeIntervalSince(started)
        print("council: 2 queries in \(String(format: "%.1f", elapsed)) s")
        #expect(elapsed < configuration.queryTimeout + 10, "the queries took \(elapsed) s; each has a 60 s budget")
        for (query, result) in zip(Self.queries, results) {
            switch result {
            case .success(let annotation):
                print("council: \(query.queryID) annotated: \(annotation.thoughtTree.count) nodes, \(annotation.reasoningChain.count) steps")
                #expect(annotation.validationProblems().isEmpty)
                #expect(annotation.backend == "llm:\(LlamaServerFixture.modelName)")
                #expect(annotation.thoughtTree.count <= LLMCouncilOutputLimits.compact.treeNodes)
            case .failure(let failure):
                // What the model means is not tested; what a failure says is.
                print("council: \(query.queryID) failed: \(failure)")
                #expect([.budgetExhausted, .invalidModelOutput].contains(failure.code), "\(failure)")
                #expect(failure.stage == "moderator" || failure.stage.hasPrefix("persona:"), "\(failure)")
                #expect(failure.attempts <= configuration.queryMaxAttempts)
                #expect(!failure.reason.isEmpty)
            }
        }
        #expect(client.acceptedResponseFormat == .jsonSchema)
    }

    // MARK: - The critic

    @Test func theCriticGivesOneVerdictPerStepOrReportsMalformed() async throws {
        let critic = LLMCritic(client: Self.client(Self.configuration(try SharedLlamaServer.server(), maxTokens: 400)))
        let requests = [
            Self.critiqueRequest(id: "three", steps: ["Identify the wish to keep family informed.",
                                                      "Notice the wish not to be called constantly.",
                                                      "Propose check-ins the user sends."]),
            Self.critiqueRequest(id: "one", steps: ["Propose 24/7 location tracking."]),
        ]
        let started = Date()

        let outcomes = try await critic.critique(requests)

        print("critic: 2 requests in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(outcomes.count == 2)
        for (request, outcome) in zip(requests, outcomes) {
            switch outcome {
            case let .scored(chain, text, attempts):
                print("critic: \(request.requestID) scored after \(attempts) sample(s):\n\(text)")
                #expect(chain.stepVerdicts.count == request.steps.count)
                #expect(chain.stepVerdicts.map(\.index) == Array(1...request.steps.count))
                let scores = chain.stepVerdicts.map(\.score) + [chain.answerVerdict.score, chain.finalScore]
                #expect(scores.allSatisfy { (-1...1).contains($0) })
                #expect(try CritiqueChainParser(expectedSteps: request.steps.count).parse(text) == chain)
            case let .malformed(text, error, attempts):
                print("critic: \(request.requestID) malformed after \(attempts) samples: \(error)")
                #expect(!text.isEmpty)
                #expect(!error.isEmpty)
                #expect(attempts == critic.client.configuration.maxRepairAttempts + 1)
            case .failed(let reason):
                Issue.record(Comment(rawValue: "\(request.requestID) failed: \(reason)"))
            }
            #expect(outcome.produced(for: request, checkpointID: critic.checkpointID).validationProblems().isEmpty)
        }
    }

    // MARK: - A server that dies

    @Test func aServerKilledMidRunGivesAClearFailure() async throws {
        // A server of its own, so that the suite's survives.
        let doomed = try await LlamaServerFixture.start(parallel: 1, context: 2048)
        defer { doomed.stop() }
        var configuration = Self.configuration(doomed, maxTokens: 2000)
        configuration.backoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(500))
        let critic = LLMCritic(client: Self.client(configuration))
        let request = Self.critiqueRequest(id: "killed", steps: ["Identify the wish to keep family informed."])
        let started = Date()

        async let outcome = critic.critique(request)
        try await Task.sleep(for: .seconds(1))   // the request is being decoded now
        doomed.kill()

        let result = await outcome
        let elapsed = Date().timeIntervalSince(started)
        guard case .failed(let reason) = result else {
            Issue.record("expected a failed outcome, got \(result)")
            return
        }
        print("killed server: \(reason) after \(String(format: "%.1f", elapsed)) s")
        #expect(reason.contains("unreachable"), "\(reason)")
        #expect(elapsed < 15, "the failure took \(elapsed) s")
    }
}
