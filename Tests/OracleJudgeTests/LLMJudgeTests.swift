import ChatCompletionsTesting
import DeepPrefTesting
import Events
import Foundation
import OracleJudge
import Testing

@Suite(.serialized) struct LLMJudgeTests {
    @Test func validJudgeOutputBecomesAVerdict() async throws {
        let server = try await ChatServerFixture.start(routes: [("strict evaluator", [["content": "```\n" + CouncilFixtures.judgeReply() + "\n```"]])],
                                           requireKey: CouncilFixtures.apiKey)
        defer { server.stop() }
        let judge = LLMJudge(client: CouncilFixtures.client(CouncilFixtures.configuration(server)))

        let verdict = try await judge.judge(query: CouncilFixtures.query(), annotation: CouncilFixtures.annotation(),
                                            response: "Turn on check-ins so they hear from you when you arrive.")

        #expect(judge.name == "llm:test-model")
        #expect(verdict.acknowledgesPreference)
        #expect(verdict.helpful)                       // sent as the string "true": repaired
        #expect(!verdict.violatesPreference)
        #expect(verdict.deepMining)
        #expect(verdict.followsPreference)
        #expect(verdict.addressedDimensions == ["autonomy", "privacy"])
        #expect(verdict.rationale["acknowledges_preference"] == "Mentions not wanting to be tracked.")
        #expect(verdict.rationale.count == 8)           // every check has an entry, "" when the model gave none
        let request = try #require(server.requests().first)
        let prompt = request.messages.last?["content"] as? String ?? ""
        #expect(prompt.contains("Turn on check-ins"))
        #expect(prompt.contains("autonomy, privacy"))   // ground truth and inferred dimensions
        #expect(request.authorization == "Bearer \(CouncilFixtures.apiKey)")
    }

    @Test func aJudgeReplyMissingACheckIsReAskedThenFails() async throws {
        var object = try JSONSerialization.jsonObject(with: Data(CouncilFixtures.judgeReply().utf8)) as! [String: Any]
        object.removeValue(forKey: "misleading")
        let server = try await ChatServerFixture.start(routes: [("strict evaluator", [["content": jsonText(object)]])])
        defer { server.stop() }
        let judge = LLMJudge(client: CouncilFixtures.client(CouncilFixtures.configuration(server, repairs: 1)))

        let result = await judge.judgeReportingFailure(query: CouncilFixtures.query(), annotation: CouncilFixtures.annotation(), response: "x")

        guard case .failure(let failure) = result else { Issue.record("expected a failure"); return }
        #expect(failure.code == .invalidModelOutput)
        #expect(failure.stage == "judge")
        #expect(failure.reason.contains("misleading"))
        #expect(failure.attempts == 2)
        #expect(server.requests().count == 2)
    }

    @Test func aJudgeReplyThatIsFixedOnTheReAskIsAccepted() async throws {
        let server = try await ChatServerFixture.start(routes: [("strict evaluator", [
            ["content": "{\"helpful\": \"maybe\"}"], ["content": CouncilFixtures.judgeReply(violates: true)],
        ])])
        defer { server.stop() }
        let judge = LLMJudge(client: CouncilFixtures.client(CouncilFixtures.configuration(server)))
        let verdict = try await judge.judge(query: CouncilFixtures.query(), annotation: CouncilFixtures.annotation(), response: "x")
        #expect(verdict.violatesPreference)
        #expect(!verdict.followsPreference)
    }

    @Test func anEndpointWithoutAuthGetsNoAuthorizationHeader() async throws {
        let server = try await ChatServerFixture.start(routes: [("strict evaluator", [["content": CouncilFixtures.judgeReply()]])])
        defer { server.stop() }
        let judge = LLMJudge(client: CouncilFixtures.client(CouncilFixtures.configuration(server, requiresKey: false), key: nil))
        let verdict = try await judge.judge(query: CouncilFixtures.query(), annotation: CouncilFixtures.annotation(), response: "x")
        #expect(verdict.helpful)
        let request = try #require(server.requests().first)
        #expect(request.authorization == nil)
    }
}
