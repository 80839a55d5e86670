import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
public final class ChatCompletionsClient: Sendable {
    public let configuration: LLMEndpointConfiguration
    private let environment: @Sendable () -> [String: String]
    private let session: URLSession
    private let bodies: ResponseBodies
    private let slots: RequestSlots

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
    }

    deinit { session.finishTasksAndInvalidate() }

    /// The assistant text of one completion and the HTTP attempts it took.
    public struct Reply: Sendable, Equatable {
        public var content: String
        public var httpAttempts: Int
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

    /// Posts `messages` and returns the assistant's text, retrying per the policy above.
    public func complete(_ messages: [ChatMessage], jsonObjectOutput: Bool = true) async throws -> Reply {
        var attempts = 0
        do {
            return try await completeCounting(messages, jsonObjectOutput: jsonObjectOutput, attempts: &attempts)
        } catch let failure as StructuredOutputFailure {
            throw failure.error
        }
    }

    private func completeCounting(_ messages: [ChatMessage], jsonObjectOutput: Bool,
                                  attempts: inout Int) async throws -> Reply {
        let key = try apiKey()
        let request = try makeRequest(messages, key: key, jsonObjectOutput: jsonObjectOutput)
        var lastError = ChatCompletionsError(.unreachable, "no attempt was made")
        let firstAttempt = attempts
        for attempt in 1...configuration.maxAttempts {
            // A cancelled caller (a sibling request already failed, or shutdown) sends nothing more.
            try Task.checkCancellation()
            await slots.acquire()
            if Task.isCancelled {
                await slots.release()
                throw CancellationError()
            }
            attempts += 1
            let outcome = await send(request)
            await slots.release()
            var retryAfter: Duration? = nil
            switch outcome {
            case .timedOut:
                lastError = ChatCompletionsError(.timeout, "no reply within \(configuration.timeout)s (attempt \(attempt) of \(configuration.maxAttempts))")
            case .transport(let message):
                lastError = ChatCompletionsError(.unreachable, scrub("\(message) (attempt \(attempt) of \(configuration.maxAttempts))", key))
            case .tooLarge(let announced):
                let size = announced.map { " (\($0) bytes announced)" } ?? ""
                throw ChatCompletionsError(.httpError, "the response body is larger than the limit of \(configuration.maxResponseBytes) bytes\(size); raise CDRA_LLM_MAX_RESPONSE_BYTES if the endpoint really sends that much")
            case .http(let status, let headers, let body):
                switch status {
                case 200..<300:
                    do {
                        return Reply(content: try Self.assistantContent(body), httpAttempts: attempts - firstAttempt)
                    } catch let error as ChatCompletionsError {
                        // A 200 whose body is not a chat completion is the server's fault, not the model's:
                        // it will not get better by asking again.
                        throw StructuredOutputFailure(error: ChatCompletionsError(error.code, scrub(error.message, key)),
                                                      httpAttempts: attempts - firstAttempt, asks: 1,
                                                      lastRawOutput: Self.truncate(scrub(String(decoding: body, as: UTF8.self), key)))
                    }
                case 429:
                    retryAfter = Self.retryAfter(headers)
                    lastError = ChatCompletionsError(.rateLimited, "HTTP 429 (attempt \(attempt) of \(configuration.maxAttempts))")
                case 408:
                    lastError = ChatCompletionsError(.timeout, "HTTP 408 (attempt \(attempt) of \(configuration.maxAttempts))")
                case 500..<600:
                    retryAfter = Self.retryAfter(headers)
                    lastError = ChatCompletionsError(.unreachable, "HTTP \(status) (attempt \(attempt) of \(configuration.maxAttempts)): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 200))")
                case 401, 403:
                    throw ChatCompletionsError(.httpError, "HTTP \(status): the endpoint rejected the credentials in \(configuration.apiKeyEnvironmentVariable)")
                default:
                    throw ChatCompletionsError(.httpError, "HTTP \(status): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 300))")
                }
            }
            if attempt < configuration.maxAttempts {
                let wait = configuration.backoff.delay(attempt: attempt, atLeast: retryAfter)
                if wait > .zero { try await Task.sleep(for: wait) }
            }
        }
        throw lastError
    }

    // MARK: - Structured output with bounded re-asks

    /// Asks for a JSON object and validates it; a reply that is not JSON or fails `validate` is sent
    /// back to the model with the problems listed, at most `maxRepairAttempts` times.
    /// Throws ``StructuredOutputFailure`` (transport errors and `.invalidModelOutput` alike).
    public func requestValidated<Value>(
        _ messages: [ChatMessage],
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
                reply = try await completeCounting(conversation, jsonObjectOutput: true, attempts: &attempts)
            } catch let error as ChatCompletionsError {
                throw StructuredOutputFailure(error: error, httpAttempts: attempts, asks: ask, lastRawOutput: lastRaw)
            } catch var failure as StructuredOutputFailure {
                failure.httpAttempts = attempts
                failure.asks = ask
                throw failure
            }
            // Scrub before truncating: a cut through the key would leave part of it behind.
            lastRaw = Self.truncate(scrub(reply.content, key))
            let problems: [String]
            do {
                let object = try ModelReplyJSON.extractObject(from: reply.content)
                switch validate(object) {
                case .success(let value): return (value, attempts, ask)
                case .failure(let violation): problems = violation.problems
                }
            } catch let error as ModelReplyJSON.ExtractionError {
                problems = [error.reason]
            }
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

    private func makeRequest(_ messages: [ChatMessage], key: String?, jsonObjectOutput: Bool) throws -> URLRequest {
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
        if jsonObjectOutput { body["response_format"] = ["type": "json_object"] }
        request.httpBody = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return request
    }

    /// One HTTP exchange. The timeout is enforced here as well as by URLSession, because an idle
    /// timeout alone does not stop a server that trickles bytes forever.
    private func send(_ request: URLRequest) async -> HTTPOutcome {
        let task = session.dataTask(with: request)
        let exchange = bodies.register(task, limit: configuration.maxResponseBytes)
        defer { bodies.forget(task) }
        let timeout = configuration.timeout
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

    /// `choices[0].message.content` of a chat-completions body.
    static func assistantContent(_ body: Data) throws -> String {
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
        return content
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

    /// Removes the key from text that may be logged or stored (a server could echo it back). A key
    /// shorter than four characters is left alone: scrubbing it would mangle ordinary words.
    func scrub(_ text: String, _ key: String?) -> String {
        guard let key, key.count >= 4 else { return text }
        return Redaction.scrub(text, secrets: [key])
    }
}
