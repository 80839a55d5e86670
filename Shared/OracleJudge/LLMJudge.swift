import ChatCompletions
import Council
import Events
import Foundation

/// The oracle judge played by an LLM: one chat completion per response, asking the eight checks
/// as JSON booleans with a rationale each, validated by ``LLMJudgeSchema`` and re-asked (bounded)
/// when malformed. Shares ``ChatCompletionsClient`` (and so the retry policy) with ``LLMCouncil``.
public struct LLMJudge: PreferenceJudge {
    public let client: ChatCompletionsClient

    public var name: String { "llm:\(client.configuration.model)" }

    public init(client: ChatCompletionsClient) { self.client = client }

    public init(configuration: LLMEndpointConfiguration) {
        self.init(client: ChatCompletionsClient(configuration: configuration))
    }

    public func judge(query: QuerySubmitted, annotation: CouncilAnnotation, response: String) async throws -> JudgeVerdict {
        switch await judgeReportingFailure(query: query, annotation: annotation, response: response) {
        case .success(let verdict): return verdict
        case .failure(let failure): throw failure.error
        }
    }

    /// Like ``judge(query:annotation:response:)`` but with a failure record (stage `judge`).
    public func judgeReportingFailure(query: QuerySubmitted, annotation: CouncilAnnotation,
                                      response: String) async -> Result<JudgeVerdict, CouncilFailure> {
        func failure(_ error: CouncilError, attempts: Int, raw: String?) -> Result<JudgeVerdict, CouncilFailure> {
            .failure(CouncilFailure(queryID: query.queryID, backend: name, stage: "judge", code: error.code,
                                    reason: error.message, attempts: attempts, lastRawOutput: raw))
        }
        do {
            let messages: [ChatMessage] = [
                .system(LLMJudgePrompts.judgeSystem),
                .user(try LLMJudgePrompts.judgeUser(query: query, annotation: annotation, response: response)),
            ]
            let result = try await client.requestValidated(messages, validate: LLMJudgeSchema.validate)
            return .success(result.value)
        } catch let f as ChatCompletionsClient.StructuredOutputFailure {
            return failure(CouncilError(f.error), attempts: f.httpAttempts, raw: f.lastRawOutput)
        } catch let error as CouncilError {
            return failure(error, attempts: 0, raw: nil)
        } catch {
            return failure(CouncilError(.invalidInput, "\(error)"), attempts: 0, raw: nil)
        }
    }
}
