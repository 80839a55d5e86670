import ChatCompletions
import Events
import Foundation

/// The critic played by an LLM behind any OpenAI-compatible chat-completions endpoint (`llm`
/// backend): one completion per request, asking for one verdict per step, the answer verdict and
/// the final score (``LLMCriticPrompts``), constrained by ``LLMCriticSchema/outputFormat(steps:)``
/// where the endpoint takes a JSON schema and checked by ``LLMCriticSchema`` always.
///
/// A reply that does not fit is sampled again from the same prompt with a new seed, up to
/// `maxRepairAttempts` times (`CDRA_LLM_MAX_REPAIRS`), and then reported as `.malformed` with the
/// last raw text, never scored. Retries, timeouts and 429 backoff are the client's; each request has
/// its own ``RequestBudget``, shortened to the request's deadline. An endpoint that gives up, a spent
/// budget or a passed deadline is that request's `.failed`; a missing API key fails the whole call.
public struct LLMCritic: CriticBackend {
    public let client: ChatCompletionsClient
    /// Requests of one micro-batch critiqued at the same time. Default: the client's
    /// `maxConcurrentRequests`, so that no request's budget runs while it waits for a slot.
    public let concurrency: Int

    public var name: String { "llm:\(client.configuration.model)" }
    public var checkpointID: String? { nil }

    public init(client: ChatCompletionsClient, concurrency: Int? = nil) {
        let concurrency = concurrency ?? client.configuration.maxConcurrentRequests
        precondition(concurrency >= 1, "concurrency must be at least 1")
        self.client = client
        self.concurrency = concurrency
    }

    public init(configuration: LLMEndpointConfiguration) {
        self.init(client: ChatCompletionsClient(configuration: configuration))
    }

    public func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        // Without its key the endpoint cannot work for any request: that is the call's error.
        _ = try client.apiKey()
        var outcomes = [CritiqueOutcome?](repeating: nil, count: requests.count)
        await withTaskGroup(of: (Int, CritiqueOutcome).self) { group in
            var next = 0
            func launch() {
                let (i, request) = (next, requests[next])
                group.addTask { (i, await critique(request)) }
                next += 1
            }
            while next < min(concurrency, requests.count) { launch() }
            for await (i, outcome) in group {
                outcomes[i] = outcome
                if next < requests.count { launch() }
            }
        }
        return outcomes.map { $0 ?? .failed("not critiqued") }
    }

    /// The outcome for one request.
    public func critique(_ request: CritiqueRequested) async -> CritiqueOutcome {
        let problems = request.validationProblems()
        if !problems.isEmpty { return .failed("the request cannot be critiqued: \(problems.joined(separator: "; "))") }
        var timeLimit = client.configuration.queryTimeout
        if let deadline = request.deadlineMs {
            let left = Double(deadline) / 1000 - Date().timeIntervalSince1970
            guard left > 0 else { return .failed("the request's deadline passed before it was critiqued") }
            timeLimit = min(timeLimit, left)
        }
        let budget = RequestBudget(maxAttempts: client.configuration.queryMaxAttempts, timeLimit: .seconds(timeLimit))
        let messages = LLMCriticPrompts.messages(for: request)
        let steps = request.steps.count
        let format = LLMCriticSchema.outputFormat(steps: steps)
        let samples = client.configuration.maxRepairAttempts + 1
        var last = (text: "", error: "no reply")
        for sample in 1...samples {
            let reply: ChatCompletionsClient.Reply
            do {
                reply = try await client.complete(messages, format: format, seed: Self.seed(request.requestID, sample: sample),
                                                  budget: budget)
            } catch let error as ChatCompletionsError {
                return .failed("\(name) gave no critique: \(error)")
            } catch is CancellationError {
                return .failed("cancelled before the critique was done")
            } catch {
                return .failed("\(name) gave no critique: \(error)")
            }
            switch LLMCriticSchema.chain(from: reply.content, steps: steps) {
            case .success(let chain):
                // The chain's text form, which every consumer of critique_text reads, not the JSON.
                return .scored(chain, text: chain.text, attempts: sample)
            case .failure(let violation):
                var problems = violation.problems
                if reply.wasCut { problems.insert(client.cutProblem(reply), at: 0) }
                last = (client.redacted(reply.content), client.redacted(problems.prefix(8).joined(separator: "; ")))
            }
        }
        return .malformed(text: last.text, error: last.error, attempts: samples)
    }

    /// The seed of sample `sample` (1-based) of a request: the same request gets the same samples,
    /// and each re-sample a different one. FNV-1a of the request id, kept below 2^31.
    static func seed(_ requestID: String, sample: Int) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in requestID.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int((hash &+ UInt32(truncatingIfNeeded: sample - 1)) & 0x7fff_ffff)
    }
}
