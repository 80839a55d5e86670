import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends chat-completions requests to an OpenAI-compatible endpoint with timeouts and retries,
/// and asks again (bounded) when the model's JSON reply is malformed or fails a schema.
/// Shared by ``LLMCouncil`` and ``LLMJudge``.
///
/// Retry policy: timeouts, connection errors, HTTP 408, 429 and 5xx are retried up to
/// `maxAttempts` times in all, waiting `initialBackoff · 2^(n−1)` (capped at `maxBackoff`) or the
/// server's `Retry-After` (seconds or an HTTP date, also capped) when it sends one. Other HTTP
/// statuses fail at once. The API key is read from the environment on every request, sent only as
/// `Authorization: Bearer`, and scrubbed from every error message and failure record.
public final class ChatCompletionsClient: Sendable {
    public let configuration: LLMEndpointConfiguration
    private let environment: @Sendable () -> [String: String]
    private let session: URLSession
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
        self.session = URLSession(configuration: sessionConfiguration)
        self.slots = RequestSlots(configuration.maxConcurrentRequests)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// The assistant text of one completion and the HTTP attempts it took.
    public struct Reply: Sendable, Equatable {
        public var content: String
        public var httpAttempts: Int
    }

    /// A reply that never passed validation: what the caller needs to write a failure record.
    public struct StructuredOutputFailure: Error, Sendable {
        public var error: CouncilError
        /// HTTP requests made, retries and re-asks included.
        public var httpAttempts: Int
        /// Times the model was asked (1 + re-asks).
        public var asks: Int
        /// The last assistant text received (scrubbed of the key), if any.
        public var lastRawOutput: String?
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
        var lastError = CouncilError(.unreachable, "no attempt was made")
        let firstAttempt = attempts
        for attempt in 1...configuration.maxAttempts {
            // A cancelled query (another persona already failed, or shutdown) sends nothing more.
            try Task.checkCancellation()
            await slots.acquire()
            if Task.isCancelled {
                await slots.release()
                throw CancellationError()
            }
            attempts += 1
            let outcome = await send(request)
            await slots.release()
            var retryAfter: TimeInterval? = nil
            switch outcome {
            case .timedOut:
                lastError = CouncilError(.timeout, "no reply within \(configuration.timeout)s (attempt \(attempt) of \(configuration.maxAttempts))")
            case .transport(let message):
                lastError = CouncilError(.unreachable, scrub("\(message) (attempt \(attempt) of \(configuration.maxAttempts))", key))
            case .http(let status, let headers, let body):
                switch status {
                case 200..<300:
                    do {
                        return Reply(content: try Self.assistantContent(body), httpAttempts: attempts - firstAttempt)
                    } catch let error as CouncilError {
                        // A 200 whose body is not a chat completion is the server's fault, not the model's:
                        // it will not get better by asking again.
                        throw StructuredOutputFailure(error: CouncilError(error.code, scrub(error.message, key)),
                                                      httpAttempts: attempts - firstAttempt, asks: 1,
                                                      lastRawOutput: Self.truncate(scrub(String(decoding: body, as: UTF8.self), key)))
                    }
                case 429:
                    retryAfter = Self.retryAfter(headers)
                    lastError = CouncilError(.rateLimited, "HTTP 429 (attempt \(attempt) of \(configuration.maxAttempts))")
                case 408:
                    lastError = CouncilError(.timeout, "HTTP 408 (attempt \(attempt) of \(configuration.maxAttempts))")
                case 500..<600:
                    retryAfter = Self.retryAfter(headers)
                    lastError = CouncilError(.unreachable, "HTTP \(status) (attempt \(attempt) of \(configuration.maxAttempts)): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 200))")
                case 401, 403:
                    throw CouncilError(.httpError, "HTTP \(status): the endpoint rejected the credentials in \(configuration.apiKeyEnvironmentVariable)")
                default:
                    throw CouncilError(.httpError, "HTTP \(status): \(Self.truncate(scrub(String(decoding: body, as: UTF8.self), key), 300))")
                }
            }
            if attempt < configuration.maxAttempts {
                let backoff = min(configuration.maxBackoff, configuration.initialBackoff * pow(2, Double(attempt - 1)))
                let wait = min(configuration.maxBackoff, max(backoff, retryAfter ?? 0))
                if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000)) }
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
            } catch let error as CouncilError {
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
        throw StructuredOutputFailure(error: CouncilError(.invalidModelOutput, scrub(reason, key)),
                                      httpAttempts: attempts, asks: configuration.maxRepairAttempts + 1,
                                      lastRawOutput: lastRaw)
    }

    static func repairInstruction(_ problems: [String]) -> String {
        "Your previous reply could not be used:\n"
            + problems.prefix(12).map { "- \($0)" }.joined(separator: "\n")
            + "\nReply again with only the corrected JSON object, no code fences and no other text."
    }

    // MARK: - HTTP

    /// The key from the environment; nil when none is needed and none is set.
    func apiKey() throws -> String? {
        let value = environment()[configuration.apiKeyEnvironmentVariable]?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let value, !value.isEmpty { return value }
        if configuration.requiresAPIKey {
            throw CouncilError(.configuration, "environment variable \(configuration.apiKeyEnvironmentVariable) holds no API key")
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

    private enum Outcome: Sendable {
        case http(status: Int, headers: [String: String], body: Data)
        case timedOut
        case transport(String)
    }

    /// One HTTP exchange. The timeout is enforced here as well as by URLSession, because an idle
    /// timeout alone does not stop a server that trickles bytes forever.
    private func send(_ request: URLRequest) async -> Outcome {
        let state = ExchangeState()
        let timeout = configuration.timeout
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let task = session.dataTask(with: request) { data, response, error in
                    if let error {
                        let nsError = error as NSError
                        if state.timedOut || nsError.code == NSURLErrorTimedOut {
                            state.finish(continuation, .timedOut)
                        } else if nsError.code == NSURLErrorCancelled {
                            state.finish(continuation, .transport("request cancelled"))
                        } else {
                            state.finish(continuation, .transport("cannot reach the endpoint: \(nsError.localizedDescription)"))
                        }
                        return
                    }
                    guard let http = response as? HTTPURLResponse else {
                        state.finish(continuation, .transport("the reply is not HTTP"))
                        return
                    }
                    var headers: [String: String] = [:]
                    for (name, value) in http.allHeaderFields {
                        if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
                    }
                    state.finish(continuation, .http(status: http.statusCode, headers: headers, body: data ?? Data()))
                }
                state.task = task
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                    if state.markTimedOut() { task.cancel(); state.finish(continuation, .timedOut) }
                }
                task.resume()
            }
        } onCancel: {
            state.task?.cancel()
        }
    }

    /// Guards the continuation: URLSession's completion and the timer may both fire.
    private final class ExchangeState: @unchecked Sendable {
        private let lock = NSLock()
        private var finished = false
        private var _timedOut = false
        private var _task: URLSessionDataTask?

        var task: URLSessionDataTask? {
            get { lock.lock(); defer { lock.unlock() }; return _task }
            set { lock.lock(); _task = newValue; lock.unlock() }
        }
        var timedOut: Bool { lock.lock(); defer { lock.unlock() }; return _timedOut }

        /// True when the exchange was still running and is now marked timed out.
        func markTimedOut() -> Bool {
            lock.lock(); defer { lock.unlock() }
            if finished { return false }
            _timedOut = true
            return true
        }

        func finish(_ continuation: CheckedContinuation<Outcome, Never>, _ outcome: Outcome) {
            lock.lock()
            if finished { lock.unlock(); return }
            finished = true
            lock.unlock()
            continuation.resume(returning: outcome)
        }
    }

    // MARK: - Reply parsing

    /// `choices[0].message.content` of a chat-completions body.
    static func assistantContent(_ body: Data) throws -> String {
        guard let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
              let fields = object as? [String: Any] else {
            throw CouncilError(.invalidModelOutput, "the endpoint's reply is not a JSON object")
        }
        guard let choices = fields["choices"] as? [Any], let first = choices.first as? [String: Any] else {
            throw CouncilError(.invalidModelOutput, "the endpoint's reply has no choices")
        }
        guard let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
            throw CouncilError(.invalidModelOutput, "the endpoint's reply has no choices[0].message.content string")
        }
        return content
    }

    /// Seconds from a `Retry-After` header (names lowercased): delta-seconds or an HTTP date.
    public static func retryAfter(_ headers: [String: String]) -> TimeInterval? {
        guard let text = headers["retry-after"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: text) { return max(0, date.timeIntervalSinceNow) }
        return nil
    }

    static func backstopTimeout(_ timeout: TimeInterval) -> TimeInterval { (timeout + 5).rounded(.up) }

    static func truncate(_ text: String, _ limit: Int = 2000) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…[truncated \(text.count - limit) characters]"
    }

    /// Removes the key from text that may be logged or stored (a server could echo it back).
    func scrub(_ text: String, _ key: String?) -> String {
        guard let key, key.count >= 4 else { return text }
        return text.replacingOccurrences(of: key, with: "[redacted]")
    }
}
