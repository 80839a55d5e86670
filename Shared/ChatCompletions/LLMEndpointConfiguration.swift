import Foundation
import Resilience
import Settings

/// Where and how to reach an OpenAI-compatible chat-completions endpoint
/// (`POST {baseURL}/chat/completions`). The API key itself is never stored here: only the name of
/// the environment variable that holds it, so a configuration can be logged safely.
public struct LLMEndpointConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Base URL up to and including the API version, e.g. `https://api.example.com/v1`.
    /// Default: none (required; `CDRA_LLM_BASE_URL`).
    public var baseURL: URL
    /// Model name sent in every request. Default: none (required; `CDRA_LLM_MODEL`).
    public var model: String
    /// Environment variable that holds the API key, sent as `Authorization: Bearer <key>`.
    /// Default: `CDRA_LLM_API_KEY`.
    public var apiKeyEnvironmentVariable: String
    /// When true, a missing or empty key is a `.configuration` error before any request is made;
    /// when false (local servers without auth) requests go out without an `Authorization` header.
    /// Default: true.
    public var requiresAPIKey: Bool
    /// Seconds to wait for one HTTP reply before the attempt counts as timed out.
    /// Default: 60.
    public var timeout: TimeInterval {
        didSet { precondition(timeout > 0, "timeout must be positive") }
    }
    /// HTTP attempts per request, the first included (timeouts, 5xx, 429 and connection errors are
    /// retried). Default: 4.
    public var maxAttempts: Int {
        didSet { precondition(maxAttempts >= 1, "maxAttempts must be at least 1") }
    }
    /// The wait before each retry: doubled after every retry from `initial`, with jitter, capped at
    /// `maximum`; a server's `Retry-After` raises it to at least the server's wait (still capped).
    /// Default: initial 0.5 s (`CDRA_LLM_INITIAL_BACKOFF`, seconds), maximum 30 s, jitter 0.2.
    public var backoff: Backoff
    /// Times a malformed or schema-violating reply is sent back to the model with the problems
    /// listed, before the request fails with `.invalidModelOutput`. Default: 2.
    public var maxRepairAttempts: Int {
        didSet { precondition(maxRepairAttempts >= 0, "maxRepairAttempts must not be negative") }
    }
    /// Sampling temperature sent with every request. Default: 0.2 (low, so repeated asks agree).
    public var temperature: Double

    /// Requests one client has in flight at most (all its callers together); the rest wait, and
    /// their timeout starts only when they are sent. Default: 16.
    public var maxConcurrentRequests: Int {
        didSet { precondition(maxConcurrentRequests >= 1, "maxConcurrentRequests must be at least 1") }
    }

    /// Largest response body the client reads, in bytes; a larger one fails the request with
    /// `.httpError` at once (not retried), and reading stops at the limit.
    /// Default: 4 MiB (`CDRA_LLM_MAX_RESPONSE_BYTES`).
    public var maxResponseBytes: Int {
        didSet { precondition(maxResponseBytes >= 1, "maxResponseBytes must be positive") }
    }

    /// Most tokens one completion may generate, sent as `max_tokens`; nil sends none (the server's
    /// own limit then applies). A reply cut at the limit is malformed and asked again.
    /// Default: 2048 (`CDRA_LLM_MAX_TOKENS`; 0 sends none).
    public var maxTokens: Int? {
        didSet { precondition((maxTokens ?? 1) >= 1, "maxTokens must be positive") }
    }

    /// The strongest `response_format` the client sends: `json_schema` (the reply's schema, where
    /// a request has one), `json_object` or `text` (none). An endpoint that rejects it gets the
    /// next weaker one (``ResponseFormat``). Default: `json_schema` (`CDRA_LLM_RESPONSE_FORMAT`).
    public var responseFormat: ResponseFormat.Kind

    /// HTTP attempts one query (a council query, one critique) may make in all, across its
    /// requests, retries, re-asks and re-samples (``RequestBudget``). Default: 20
    /// (`CDRA_LLM_QUERY_MAX_ATTEMPTS`).
    public var queryMaxAttempts: Int {
        didSet { precondition(queryMaxAttempts >= 1, "queryMaxAttempts must be at least 1") }
    }

    /// Seconds one query may take in all, from its start (``RequestBudget``). Default: 300
    /// (`CDRA_LLM_QUERY_TIMEOUT`).
    public var queryTimeout: TimeInterval {
        didSet { precondition(queryTimeout > 0, "queryTimeout must be positive") }
    }

    /// 0.5 s doubling to at most 30 s, ±20 %.
    public static let defaultBackoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30), jitter: 0.2)

    /// 4 MiB: far above a chat completion's JSON reply, far below what hurts a service.
    public static let defaultMaxResponseBytes = 4 << 20

    public init(baseURL: URL, model: String, apiKeyEnvironmentVariable: String = "CDRA_LLM_API_KEY",
                requiresAPIKey: Bool = true, timeout: TimeInterval = 60, maxAttempts: Int = 4,
                backoff: Backoff = LLMEndpointConfiguration.defaultBackoff,
                maxRepairAttempts: Int = 2, temperature: Double = 0.2, maxConcurrentRequests: Int = 16,
                maxResponseBytes: Int = LLMEndpointConfiguration.defaultMaxResponseBytes,
                maxTokens: Int? = 2048, responseFormat: ResponseFormat.Kind = .jsonSchema,
                queryMaxAttempts: Int = 20, queryTimeout: TimeInterval = 300) {
        precondition(timeout > 0, "timeout must be positive")
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        precondition(maxRepairAttempts >= 0, "maxRepairAttempts must not be negative")
        precondition(maxConcurrentRequests >= 1, "maxConcurrentRequests must be at least 1")
        precondition(maxResponseBytes >= 1, "maxResponseBytes must be positive")
        precondition((maxTokens ?? 1) >= 1, "maxTokens must be positive")
        precondition(queryMaxAttempts >= 1, "queryMaxAttempts must be at least 1")
        precondition(queryTimeout > 0, "queryTimeout must be positive")
        self.maxConcurrentRequests = maxConcurrentRequests
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.requiresAPIKey = requiresAPIKey
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.maxRepairAttempts = maxRepairAttempts
        self.temperature = temperature
        self.maxResponseBytes = maxResponseBytes
        self.maxTokens = maxTokens
        self.responseFormat = responseFormat
        self.queryMaxAttempts = queryMaxAttempts
        self.queryTimeout = queryTimeout
    }

    /// `{baseURL}/chat/completions`.
    public var chatCompletionsURL: URL {
        var text = baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + "/chat/completions") ?? baseURL.appendingPathComponent("chat/completions")
    }

    /// Reads the configuration from the environment, in one place:
    /// `CDRA_LLM_BASE_URL` (required), `CDRA_LLM_MODEL` (required), `CDRA_LLM_API_KEY_ENV` (name of
    /// the key variable, default `CDRA_LLM_API_KEY`), `CDRA_LLM_REQUIRE_KEY` (`0`/`false` for servers
    /// without auth), `CDRA_LLM_TIMEOUT` (seconds), `CDRA_LLM_MAX_ATTEMPTS`,
    /// `CDRA_LLM_INITIAL_BACKOFF` (seconds), `CDRA_LLM_MAX_REPAIRS`, `CDRA_LLM_TEMPERATURE`,
    /// `CDRA_LLM_MAX_CONCURRENT_REQUESTS`, `CDRA_LLM_MAX_RESPONSE_BYTES`, `CDRA_LLM_MAX_TOKENS`,
    /// `CDRA_LLM_RESPONSE_FORMAT`, `CDRA_LLM_QUERY_MAX_ATTEMPTS`, `CDRA_LLM_QUERY_TIMEOUT` (seconds).
    /// Throws `.configuration` naming the variable that is missing or malformed.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LLMEndpointConfiguration {
        do {
            return try read(EnvironmentReader(environment))
        } catch let error as SettingError {
            throw ChatCompletionsError(.configuration, error.description)
        }
    }

    private static func read(_ environment: EnvironmentReader) throws -> LLMEndpointConfiguration {
        guard let urlText = environment.string("CDRA_LLM_BASE_URL") else {
            throw SettingError(variable: "CDRA_LLM_BASE_URL", "is not set (e.g. http://127.0.0.1:8000/v1)")
        }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw SettingError(variable: "CDRA_LLM_BASE_URL", "is not an http(s) URL: '\(urlText.prefix(200))'")
        }
        guard let model = environment.string("CDRA_LLM_MODEL") else {
            throw SettingError(variable: "CDRA_LLM_MODEL", "is not set")
        }
        var configuration = LLMEndpointConfiguration(baseURL: url, model: model)
        if let name = environment.string("CDRA_LLM_API_KEY_ENV") { configuration.apiKeyEnvironmentVariable = name }
        if let required = try environment.boolean("CDRA_LLM_REQUIRE_KEY") { configuration.requiresAPIKey = required }
        if let v = try environment.number("CDRA_LLM_TIMEOUT", in: 0.001...3600) { configuration.timeout = v }
        if let v = try environment.integer("CDRA_LLM_MAX_ATTEMPTS", in: 1...20) { configuration.maxAttempts = v }
        if let v = try environment.number("CDRA_LLM_INITIAL_BACKOFF", in: 0...600) { configuration.backoff.initial = .seconds(v) }
        if let v = try environment.integer("CDRA_LLM_MAX_REPAIRS", in: 0...10) { configuration.maxRepairAttempts = v }
        if let v = try environment.number("CDRA_LLM_TEMPERATURE", in: 0...2) { configuration.temperature = v }
        if let v = try environment.integer("CDRA_LLM_MAX_CONCURRENT_REQUESTS", in: 1...1024) { configuration.maxConcurrentRequests = v }
        if let v = try environment.integer("CDRA_LLM_MAX_RESPONSE_BYTES", in: 1024...(1 << 30)) { configuration.maxResponseBytes = v }
        if let v = try environment.integer("CDRA_LLM_MAX_TOKENS", in: 0...1_000_000) { configuration.maxTokens = v == 0 ? nil : v }
        if let text = environment.string("CDRA_LLM_RESPONSE_FORMAT") {
            guard let kind = ResponseFormat.Kind(rawValue: text.lowercased()) else {
                throw SettingError(variable: "CDRA_LLM_RESPONSE_FORMAT",
                                   "must be json_schema, json_object or text, not '\(text.prefix(20))'")
            }
            configuration.responseFormat = kind
        }
        if let v = try environment.integer("CDRA_LLM_QUERY_MAX_ATTEMPTS", in: 1...1000) { configuration.queryMaxAttempts = v }
        if let v = try environment.number("CDRA_LLM_QUERY_TIMEOUT", in: 0.001...86_400) { configuration.queryTimeout = v }
        return configuration
    }

    /// Safe to log: names the key variable, never the key.
    public var description: String {
        "endpoint=\(chatCompletionsURL.absoluteString) model=\(model) key_env=\(apiKeyEnvironmentVariable)"
            + " requires_key=\(requiresAPIKey) timeout=\(timeout)s max_attempts=\(maxAttempts)"
            + " \(backoff) max_repairs=\(maxRepairAttempts)"
            + " temperature=\(temperature) max_concurrent_requests=\(maxConcurrentRequests)"
            + " max_response_bytes=\(maxResponseBytes) max_tokens=\(maxTokens.map(String.init) ?? "none")"
            + " response_format=\(responseFormat.rawValue) query_max_attempts=\(queryMaxAttempts)"
            + " query_timeout=\(queryTimeout)s"
    }
}
