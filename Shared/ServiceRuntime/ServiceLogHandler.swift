#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging

/// Writes one line per log event, as text or as a JSON object, to standard error (or to a closure,
/// for tests). Every line carries the service name.
///
/// Text:  `2026-11-30T15:48:11.123Z info council-generator [cdra.bus] message key=value`
/// JSON:  `{"ts":"2026-11-30T15:48:11.123Z","level":"info","service":"council-generator",
///         "logger":"cdra.bus","message":"message","metadata":{"key":"value"}}`
public struct ServiceLogHandler: LogHandler {
    /// Where the lines go.
    public enum Output: Sendable {
        /// File descriptor 2, one `write` per line so concurrent lines do not interleave.
        case standardError
        /// A closure receiving each line without its trailing newline.
        case lines(@Sendable (String) -> Void)
    }

    public let label: String
    public let service: String
    public let format: ServiceOptions.LogFormat
    public let output: Output
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, service: String, format: ServiceOptions.LogFormat = .text,
                logLevel: Logger.Level = .info, output: Output = .standardError,
                metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.service = service
        self.format = format
        self.logLevel = logLevel
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Merge order: handler metadata < provider metadata < the call's own metadata.
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let call = event.metadata { merged.merge(call) { _, new in new } }
        if let error = event.error { merged["error"] = .string("\(error)") }

        let line = format == .json
            ? jsonLine(level: event.level, message: event.message.description, metadata: merged)
            : textLine(level: event.level, message: event.message.description, metadata: merged)
        switch output {
        case .standardError: Self.writeToStandardError(line + "\n")
        case .lines(let sink): sink(line)
        }
    }

    // MARK: - Formatting

    func textLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        // One event, one line: a newline inside the message would look like a second event.
        var line = "\(Self.timestamp()) \(level.rawValue) \(service) [\(label)] \(Self.singleLine(message))"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(Self.text(metadata[key]!))"
        }
        return line
    }

    func jsonLine(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "{\"ts\":\(JSONText.quoted(Self.timestamp())),\"level\":\(JSONText.quoted(level.rawValue))"
        line += ",\"service\":\(JSONText.quoted(service)),\"logger\":\(JSONText.quoted(label))"
        line += ",\"message\":\(JSONText.quoted(message))"
        if !metadata.isEmpty { line += ",\"metadata\":" + Self.json(.dictionary(metadata)) }
        return line + "}"
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s):
            let needsQuotes = s.isEmpty || s.contains { $0 == " " || $0 == "\"" || $0.isNewline }
            return needsQuotes ? JSONText.quoted(s) : s
        case .stringConvertible(let c): return text(.string(c.description))
        case .array(let a): return "[" + a.map(text).joined(separator: ",") + "]"
        case .dictionary(let d):
            return "{" + d.keys.sorted().map { "\($0)=\(text(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    static func singleLine(_ s: String) -> String {
        guard s.contains(where: \.isNewline) else { return s }
        return s.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let s): return JSONText.quoted(s)
        case .stringConvertible(let c): return JSONText.quoted(c.description)
        case .array(let a): return "[" + a.map(json).joined(separator: ",") + "]"
        case .dictionary(let d):
            return "{" + d.keys.sorted().map { "\(JSONText.quoted($0)):\(json(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// UTC, millisecond precision, ISO 8601.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T"
            + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }

    static func writeToStandardError(_ line: String) {
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return // stderr is gone; nothing sensible left to do with a log line
            }
            offset += n
        }
    }
}
