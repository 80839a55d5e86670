import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Resilience
import Settings

/// Sends chat-completions requests to an OpenAI-compatible endpoint with timeouts and retries,
/// and asks again (bounded) when the model's JSON reply is malformed or fails a schema. One client
/// is meant to be shared by every caller of an endpoint, so its request limit holds for all of them.
///
/// Retry policy: timeouts, connection errors, HTTP 408, 429 and 5xx are retried up to
/// `maxAttempts` times in all, waiting as the configuration's ``LLMEndpointConfiguration/backoff``
/// says: exponential with jitter, and at least the server's `Retry-After` (seconds or an HTTP date)
/// when it sends one, all capped at the backoff's maximum. Other HTTP statuses, and a body larger
/// than `maxResponseBytes`, fail at once. The API key is read from the environment on every
/// request, sent only as `Authorization: Bearer`, and scrubbed from every error message and failure
/// record.
///
/// Every request carries `max_tokens` (``LLMEndpointConfiguration/maxTokens``) and the strongest
/// response format the endpoint accepts (``ResponseFormat``: a `json_schema` that is rejected falls
/// back to `json_object`, remembered for the client's lifetime). A ``RequestBudget`` passed with a
/// request bounds the attempts and the time of all the requests of one query together.
public final class ChatCompletionsClient: Sendable {
    public let configuration: LLMEndpointConfiguration
    private let environment: @Sendable () -> [String: String]
    private let session: URLSession
    private let bodies: ResponseBodies
    private let slots: RequestSlots
    private let acceptedFormat: Locked<ResponseFormat.Kind>

    /// `environment` is read on every request; tests pass their own.
    public init(configuration: LLMEndpointConfiguration,
                environment: @escaping @Sendable () -> [String: String] = { ProcessInfo.processInfo.environment }) {
        self.configuration = configuration
        self.environment = environment
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        // The client enforces `timeout` itself (see send); URLSession's own timeouts only back it
        // up, whole seconds and later, because Linux Foundation rounds sub-second values badly.
        sessionConfiguration.timeoutIntervalForRequest = Self.backstopTimeout(configuration.timeout)
        sessionConfiguration.timeoutIntervalForResource = Self.backstopTimeout(configuration.timeout)
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        sessionConfiguration.httpMaximumConnectionsPerHost = configuration.maxConcurrentRequests
        bodies = ResponseBodies()
        // The session keeps its delegate until it is invalidated (deinit).
        session = URLSession(configuration: sessionConfiguration, delegate: bodies, delegateQueue: nil)
        slots = RequestSlots(configuration.maxConcurrentRequests)
        acceptedFormat = Locked(configuration.responseFormat)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// The assistant text of one completion and the HTTP attempts it took.
    public struct Reply: Sendable, Equatable {
        public var content: String
        public var httpAttempts: Int
        /// `choices[0].finish_reason`: `stop`, or `length` when the reply was cut at `max_tokens`.
        public var finishReason: String?
        /// `usage.completion_tokens`, when the endpoint reports it.
        public var completionTokens: Int?
        /// The response format the successful request was sent with.
        public var format: ResponseFormat.Kind

        /// True when the endpoint stopped because the reply reached `max_tokens`.
        public var wasCut: Bool { finishReason == "length" }
    }

    /// A reply that never passed validation: what the caller needs to write a failure record.
    public struct StructuredOutputFailure: Error, Sendable {
        public var error: ChatCompletionsError
        /// HTTP requests made, retries and re-asks included.
        public var httpAttempts: Int
        /// Times the model was asked (1 + re-asks).
        public var asks: Int
        /// The last assistant text received (scrubbed of the key), if any.
        public var lastRawOutput: String?

        public init(error: ChatCompletionsError, httpAttempts: Int, asks: Int, lastRawOutput: String?) {
            self.error = error
            self.httpAttempts = httpAttempts
            self.asks = asks
            self.lastRawOutput = lastRawOutput
        }
    }

    // MARK: - One completion

    /// Posts `messages` and returns the assistant's text, retrying per the policy above. `format`
    /// is weakened to what the endpoint accepts (``ResponseFormat``); `seed` is sent when given (a
    /// re-sample passes a new one); `budget` bounds what this request may spend together with the
    /// other requests of its query.
    public func complete(_ messages: [ChatMessage], format: ResponseFormat = .jsonObject, seed: Int? = nil,
                         budget: RequestBudget? = nil) async throws -> Reply {
        var attempts = 0
        do {
            return try await completeCounting(messages, format: format, seed: seed, budget: budget, attempts: &attempts)
        } catch let failure as StructuredOutputFailure {
            throw failure.error
        }
    }

    /// The strongest response format this endpoint has not rejected (it starts as the
    /// configuration's ``LLMEndpointConfiguration/responseFormat``).
    public var acceptedResponseFormat: ResponseFormat.Kind { acceptedFormat.current }

    private func completeCounting(_ messages: [ChatMessage], format requested: ResponseFormat, seed: Int?,
                                  budget: RequestBudget?, attempts: inout Int) async throws -> Reply {
        let key = try apiKey()
        var format = requested.limited(to: acceptedFormat.current)
        var request = try makeRequest(messages, key: key, format: format, seed: seed)
        var lastError: ChatCompletionsError? = nil
        let firstAttempt = attempts
        let maxAttempts = configuration.maxAttempts
        var attempt = 1
        while true {
            // A cancelled caller (a sibling request already failed, or shutdown) sends nothing more.
            try Task.checkCancellation()
            await slots.acquire()
            if Task.isCancelled {
                await slots.release()
                throw CancellationError()
            }
            // Decided once a slot is held, so that a request queued behind one that found out what
            // the endpoint rejects is sent in a format it accepts; and the budget is charged only
            // now: a queued request spends no attempt, and its timeout is cut to the time left.
            var timeout = configuration.timeout
            var cutByBudget = false
            do {
                if format.kind > acceptedFormat.current {
                    format = requested.limited(to: acceptedFormat.current)
                    request = try makeRequest(messages, key: key, format: format, seed: seed)
                }
                if let budget {
                    try budget.takeAttempt(after: lastError)
                    let left = budget.remaining.seconds
                    if left < timeout { (timeout, cutByBudget) = (left, true) }
                }
            } catch {
                await slots.release()
                throw error
            }
            attempts += 1
            let outcome = await send(request, timeout: timeout)
            let rejectedFormat = Self.rejectedFormat(outcome, sent: format.kind)
            if let rejected = rejectedFormat {
                // Remembered before the slot is freed, so the request that takes it next already
                // knows.
                acceptedFormat.withLock { $0 = min($0, rejected.weaker ?? .text) }
            }
            await slots.release()
            var retryAfter: Duration? = nil
            switch outcome {
            case .timedOut:
                if cutByBudget, let budget { throw budget.timeExhausted(after: lastError) }
                lastError = ChatCompletionsError(.timeout, "no reply within \(configuration.timeout)s (attempt \(attempt) of \(maxAttempts))")
            case .transport(let message):
                lastError = ChatCompletionsError(.unreachable, scrub("\(message) (attempt \(attempt) of \(maxAttempts))", key))
            case .tooLarge(let announced):
                let size = announced.map { " (\($0) bytes announced)" } ?? ""
                throw ChatCompletionsError(.httpError, "the response body is larger than the limit of \(configuration.maxResponseBytes) bytes\(size); raise CDRA_LLM_MAX_RESPONSE_BYTES if the endpoint really sends that much")
            case .http(let status, let headers, let body):
                switch status {
                case 200..<300:
                    do {
                        let completion = try Self.completion(body)
                        return Reply(content: completion.content, httpAttempts: attempts - firstAttempt,
                                     finishReason: completion.finishReason, completionTokens: completion.completionTokens,
                                     format: format.kind)
                    } catch let error as ChatCompletionsError {
                        // A 200 whose body is not a chat completion is the server's fault, not the model's:
                        // it will not get better by asking again.
                        throw StructuredOutputFailure(error: ChatCompletionsError(error.code, scrub(error.message, key)),
                                                      httpAttempts: attempts - firstAttempt, asks: 1,
                                                      lastRawOutput: Self.truncate(scrub(String(decoding: body, as: UTF8.self), key)))
                    }
                case _ where rejectedFormat != nil:
                    // The endpoint cannot do this format: ask again at once with the next weaker one
                    // (the loop's top picks it). This costs an attempt of the budget but not a retry.
                    lastError = ChatCompletionsError(.httpError, "HTTP \(status) rejected response_format \(format.kind.rawValue): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 200))")
                    continue
                case 429:
                    retryAfter = Self.retryAfter(headers)
                    lastError = ChatCompletionsError(.rateLimited, "HTTP 429 (attempt \(attempt) of \(maxAttempts))")
                case 408:
                    lastError = ChatCompletionsError(.timeout, "HTTP 408 (attempt \(attempt) of \(maxAttempts))")
                case 500..<600:
                    retryAfter = Self.retryAfter(headers)
                    lastError = ChatCompletionsError(.unreachable, "HTTP \(status) (attempt \(attempt) of \(maxAttempts)): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 200))")
                case 401, 403:
                    throw ChatCompletionsError(.httpError, "HTTP \(status): the endpoint rejected the credentials in \(configuration.apiKeyEnvironmentVariable)")
                default:
                    throw ChatCompletionsError(.httpError, "HTTP \(status): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 300))")
                }
            }
            guard attempt < maxAttempts else { break }
            let wait = configuration.backoff.delay(attempt: attempt, atLeast: retryAfter)
            // A wait the budget cannot afford ends the query now, not after the wait.
            if let budget, wait >= budget.remaining { throw budget.timeExhausted(after: lastError) }
            if wait > .zero { try await Task.sleep(for: wait) }
            attempt += 1
        }
        throw lastError ?? ChatCompletionsError(.unreachable, "no attempt was made")
    }

    /// The format `outcome` says the endpoint cannot do: a 400 or 422 naming `response_format` or
    /// `json_schema` (as OpenAI, vLLM and llama.cpp word it) to a request sent with `sent`.
    static func rejectedFormat(_ outcome: HTTPOutcome, sent: ResponseFormat.Kind) -> ResponseFormat.Kind? {
        guard sent > .text, case let .http(status, _, body) = outcome, status == 400 || status == 422,
              rejectsResponseFormat(body) else { return nil }
        return sent
    }

    static func rejectsResponseFormat(_ body: Data) -> Bool {
        let text = String(decoding: body.prefix(8192), as: UTF8.self).lowercased()
        return text.contains("response_format") || text.contains("json_schema") || text.contains("response format")
    }

    // MARK: - Structured output with bounded re-asks

    /// Asks for a reply in `format` and validates it; a reply that is not JSON or fails `validate`
    /// is sent back to the model with the problems listed, at most `maxRepairAttempts` times. A
    /// reply cut at `max_tokens` is told so. Throws ``StructuredOutputFailure`` (transport errors,
    /// a spent `budget` and `.invalidModelOutput` alike).
    public func requestValidated<Value>(
        _ messages: [ChatMessage],
        format: ResponseFormat = .jsonObject,
        budget: RequestBudget? = nil,
        validate: ([String: Any]) -> Result<Value, SchemaViolation>
    ) async throws -> (value: Value, httpAttempts: Int, asks: Int) {
        var conversation = messages
        var attempts = 0
        var lastRaw: String? = nil
        var lastProblems: [String] = []
        let key = (try? apiKey()) ?? nil
        for ask in 1...(configuration.maxRepairAttempts + 1) {
            let reply: Reply
            do {
                reply = try await completeCounting(conversation, format: format, seed: nil, budget: budget, attempts: &attempts)
            } catch let error as ChatCompletionsError {
                throw StructuredOutputFailure(error: error, httpAttempts: attempts, asks: ask, lastRawOutput: lastRaw)
            } catch var failure as StructuredOutputFailure {
                failure.httpAttempts = attempts
                failure.asks = ask
                throw failure
            }
            // Scrub before truncating: a cut through the key would leave part of it behind.
            lastRaw = Self.truncate(scrub(reply.content, key))
            var problems: [String]
            do {
                let object = try ModelReplyJSON.extractObject(from: reply.content)
                switch validate(object) {
                case .success(let value): return (value, attempts, ask)
                case .failure(let violation): problems = violation.problems
                }
            } catch let error as ModelReplyJSON.ExtractionError {
                problems = [error.reason]
            }
            if reply.wasCut { problems.insert(cutProblem(reply), at: 0) }
            lastProblems = problems
            conversation.append(.assistant(Self.truncate(reply.content, 6000)))
            conversation.append(.user(Self.repairInstruction(problems)))
        }
        let reason = "the model never returned valid output after \(configuration.maxRepairAttempts + 1) asks; last problems: "
            + lastProblems.prefix(8).joined(separator: "; ")
        throw StructuredOutputFailure(error: ChatCompletionsError(.invalidModelOutput, scrub(reason, key)),
                                      httpAttempts: attempts, asks: configuration.maxRepairAttempts + 1,
                                      lastRawOutput: lastRaw)
    }

    /// The problem to report for a reply that stopped at `max_tokens`.
    package func cutProblem(_ reply: Reply) -> String {
        let limit = configuration.maxTokens.map { "max_tokens (\($0))" } ?? "the server's token limit"
        return "the reply was cut off at \(limit) before it was complete; keep every text short"
    }

    static func repairInstruction(_ problems: [String]) -> String {
        "Your previous reply could not be used:\n"
            + problems.prefix(12).map { "- \($0)" }.joined(separator: "\n")
            + "\nReply again with only the corrected JSON object, no code fences and no other text."
    }

    // MARK: - HTTP

    /// The key from the environment; nil when none is needed and none is set. Throws
    /// `.configuration` when a key is required and missing, before anything is sent.
    package func apiKey() throws -> String? {
        if let value = EnvironmentReader(environment()).string(configuration.apiKeyEnvironmentVariable) { return value }
        if configuration.requiresAPIKey {
            throw ChatCompletionsError(.configuration, "environment variable \(configuration.apiKeyEnvironmentVariable) holds no API key")
        }
        return nil
    }

    private func makeRequest(_ messages: [ChatMessage], key: String?, format: ResponseFormat, seed: Int?) throws -> URLRequest {
        var request = URLRequest(url: configuration.chatCompletionsURL)
        request.httpMethod = "POST"
        request.timeoutInterval = Self.backstopTimeout(configuration.timeout)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        var body: [String: Any] = [
            "model": configuration.model,
            "messages": messages.map { ["role": $0.role, "content": $0.content] },
            "temperature": configuration.temperature,
        ]
        if let maxTokens = configuration.maxTokens { body["max_tokens"] = maxTokens }
        if let seed { body["seed"] = seed }
        var data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        if let field = format.requestFieldJSON {
            // Spliced in as text: the schema's property order must survive, and JSONSerialization
            // does not keep key order. `data` ends with the object's closing brace.
            data.removeLast()
            data.append(Data(",\"response_format\":\(field)}".utf8))
        }
        request.httpBody = data
        return request
    }

    /// One HTTP exchange, given up after `timeout` seconds. The timeout is enforced here as well as
    /// by URLSession, because an idle timeout alone does not stop a server that trickles bytes forever.
    private func send(_ request: URLRequest, timeout: TimeInterval) async -> HTTPOutcome {
        let task = session.dataTask(with: request)
        let exchange = bodies.register(task, limit: configuration.maxResponseBytes)
        defer { bodies.forget(task) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<HTTPOutcome, Never>) in
                exchange.onFinish(continuation)
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                    if exchange.finish(.timedOut) { task.cancel() }
                }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    // MARK: - Reply parsing

    /// `choices[0].message.content`, `choices[0].finish_reason` and `usage.completion_tokens` of a
    /// chat-completions body.
    static func completion(_ body: Data) throws -> (content: String, finishReason: String?, completionTokens: Int?) {
        guard let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
              let fields = object as? [String: Any] else {
            throw ChatCompletionsError(.invalidModelOutput, "the endpoint's reply is not a JSON object")
        }
        guard let choices = fields["choices"] as? [Any], let first = choices.first as? [String: Any] else {
            throw ChatCompletionsError(.invalidModelOutput, "the endpoint's reply has no choices")
        }
        guard let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
            throw ChatCompletionsError(.invalidModelOutput, "the endpoint's reply has no choices[0].message.content string")
        }
        let tokens = ((fields["usage"] as? [String: Any])?["completion_tokens"] as? NSNumber)?.intValue
        return (content, first["finish_reason"] as? String, tokens)
    }

    /// The wait a `Retry-After` header asks for (names lowercased): delta-seconds or an HTTP date.
    public static func retryAfter(_ headers: [String: String]) -> Duration? {
        guard let text = headers["retry-after"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text), seconds >= 0, seconds.isFinite { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: text) { return .seconds(max(0, date.timeIntervalSinceNow)) }
        return nil
    }

    static func backstopTimeout(_ timeout: TimeInterval) -> TimeInterval { (timeout + 5).rounded(.up) }

    static func truncate(_ text: String, _ limit: Int = 2000) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…[truncated \(text.count - limit) characters]"
    }

    /// `text` without the endpoint's key (and truncated to 2,000 characters), for failure reports
    /// that keep model output: a server could echo the key back.
    package func redacted(_ text: String) -> String {
        // Scrub before truncating: a cut through the key would leave part of it behind.
        Self.truncate(scrub(text, (try? apiKey()) ?? nil))
    }

    /// Removes the key from text that may be logged or stored (a server could echo it back). A key
    /// shorter than four characters is left alone: scrubbing it would mangle ordinary words.
    func scrub(_ text: String, _ key: String?) -> String {
        guard let key, key.count >= 4 else { return text }
        return Redaction.scrub(text, secrets: [key])
    }
}
