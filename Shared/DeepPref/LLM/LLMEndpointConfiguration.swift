import Foundation

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
    /// Wait before the first retry; doubled after every retry, capped at ``maxBackoff``.
    /// Default: 0.5 s.
    public var initialBackoff: TimeInterval {
        didSet { precondition(initialBackoff >= 0, "initialBackoff must not be negative") }
    }
    /// Upper bound of one backoff wait, and of a server's `Retry-After`. Default: 30 s.
    public var maxBackoff: TimeInterval {
        didSet { precondition(maxBackoff >= 0, "maxBackoff must not be negative") }
    }
    /// Times a malformed or schema-violating reply is sent back to the model with the problems
    /// listed, before the request fails with `.invalidModelOutput`. Default: 2.
    public var maxRepairAttempts: Int {
        didSet { precondition(maxRepairAttempts >= 0, "maxRepairAttempts must not be negative") }
    }
    /// Sampling temperature sent with every request. Default: 0.2 (the council should be stable).
    public var temperature: Double
    /// Persona requests of one query sent at the same time. Default: 6 (all personas at once).
    public var personaConcurrency: Int {
        didSet { precondition(personaConcurrency >= 1, "personaConcurrency must be at least 1") }
    }

    /// Requests one client has in flight at most (all queries and personas together); the rest
    /// wait, and their timeout starts only when they are sent. Default: 16.
    public var maxConcurrentRequests: Int {
        didSet { precondition(maxConcurrentRequests >= 1, "maxConcurrentRequests must be at least 1") }
    }

    public init(baseURL: URL, model: String, apiKeyEnvironmentVariable: String = "CDRA_LLM_API_KEY",
                requiresAPIKey: Bool = true, timeout: TimeInterval = 60, maxAttempts: Int = 4,
                initialBackoff: TimeInterval = 0.5, maxBackoff: TimeInterval = 30,
                maxRepairAttempts: Int = 2, temperature: Double = 0.2, personaConcurrency: Int = 6,
                maxConcurrentRequests: Int = 16) {
        precondition(timeout > 0, "timeout must be positive")
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        precondition(initialBackoff >= 0 && maxBackoff >= 0, "backoff must not be negative")
        precondition(maxRepairAttempts >= 0, "maxRepairAttempts must not be negative")
        precondition(personaConcurrency >= 1, "personaConcurrency must be at least 1")
        precondition(maxConcurrentRequests >= 1, "maxConcurrentRequests must be at least 1")
        self.maxConcurrentRequests = maxConcurrentRequests
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.requiresAPIKey = requiresAPIKey
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRepairAttempts = maxRepairAttempts
        self.temperature = temperature
        self.personaConcurrency = personaConcurrency
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
    /// `CDRA_LLM_MAX_CONCURRENT_REQUESTS`.
    /// Throws `.configuration` naming the variable that is missing or malformed.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LLMEndpointConfiguration {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        guard let urlText = value("CDRA_LLM_BASE_URL") else {
            throw CouncilError(.configuration, "CDRA_LLM_BASE_URL is not set (e.g. http://127.0.0.1:8000/v1)")
        }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw CouncilError(.configuration, "CDRA_LLM_BASE_URL is not an http(s) URL: '\(urlText.prefix(200))'")
        }
        guard let model = value("CDRA_LLM_MODEL") else {
            throw CouncilError(.configuration, "CDRA_LLM_MODEL is not set")
        }
        var configuration = LLMEndpointConfiguration(baseURL: url, model: model)
        if let name = value("CDRA_LLM_API_KEY_ENV") { configuration.apiKeyEnvironmentVariable = name }
        if let flag = value("CDRA_LLM_REQUIRE_KEY") {
            switch flag.lowercased() {
            case "1", "true", "yes": configuration.requiresAPIKey = true
            case "0", "false", "no": configuration.requiresAPIKey = false
            default: throw CouncilError(.configuration, "CDRA_LLM_REQUIRE_KEY must be true or false, not '\(flag.prefix(20))'")
            }
        }
        func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let text = value(name) else { return nil }
            guard let number = Double(text), range.contains(number) else {
                throw CouncilError(.configuration, "\(name) must be a number in \(range), not '\(text.prefix(20))'")
            }
            return number
        }
        if let v = try number("CDRA_LLM_TIMEOUT", 0.001...3600) { configuration.timeout = v }
        if let v = try number("CDRA_LLM_MAX_ATTEMPTS", 1...20) { configuration.maxAttempts = Int(v) }
        if let v = try number("CDRA_LLM_INITIAL_BACKOFF", 0...600) { configuration.initialBackoff = v }
        if let v = try number("CDRA_LLM_MAX_REPAIRS", 0...10) { configuration.maxRepairAttempts = Int(v) }
        if let v = try number("CDRA_LLM_TEMPERATURE", 0...2) { configuration.temperature = v }
        if let v = try number("CDRA_LLM_MAX_CONCURRENT_REQUESTS", 1...1024) { configuration.maxConcurrentRequests = Int(v) }
        return configuration
    }

    /// Safe to log: names the key variable, never the key.
    public var description: String {
        "endpoint=\(chatCompletionsURL.absoluteString) model=\(model) key_env=\(apiKeyEnvironmentVariable)"
            + " requires_key=\(requiresAPIKey) timeout=\(timeout)s max_attempts=\(maxAttempts)"
            + " initial_backoff=\(initialBackoff)s max_backoff=\(maxBackoff)s max_repairs=\(maxRepairAttempts)"
            + " temperature=\(temperature) max_concurrent_requests=\(maxConcurrentRequests)"
    }
}
