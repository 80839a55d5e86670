import Foundation

/// Runs chat_server.py (next to this file) on a free port with a scripted sequence of replies, and
/// reads back the requests it received.
public final class ChatServerFixture {
    public let port: Int
    public let logURL: URL
    private let process: Process
    private let directory: URL

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("chat_server.py").path
    }

    /// Starts the server on a Dispatch thread: waiting for the child blocks, and a blocked
    /// cooperative thread would stall the other tests' timers on a two-core machine.
    /// `rejectResponseFormats`: the `response_format` types the server answers 400 to.
    public static func start(routes: [(String, [[String: Any]])], requireKey: String? = nil,
                             rejectResponseFormats: [String] = []) async throws -> ChatServerFixture {
        let script = jsonText(["require_key": requireKey as Any? ?? NSNull(),
                               "reject_response_format": rejectResponseFormats,
                               "routes": routes.map { ["match": $0.0, "replies": $0.1] }])
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do { continuation.resume(returning: try ChatServerFixture(scriptJSON: script)) }
                catch { continuation.resume(throwing: error) }
            }
        }
    }

    private init(scriptJSON: String) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("chat-server-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let scriptURL = directory.appendingPathComponent("script.json")
        try Data(scriptJSON.utf8).write(to: scriptURL)
        logURL = directory.appendingPathComponent("requests.jsonl")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scriptPath, scriptURL.path, logURL.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The first line is "PORT <n>".
        var line = Data()
        let deadline = Date().addingTimeInterval(15)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw FixtureError(message: "chat_server.py did not start: '\(text)'")
        }
        self.port = port
    }

    public struct FixtureError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// One request as the server logged it.
    public struct Request {
        /// Seconds since 1970 when the server received it.
        public var time: Double
        /// Index of the route it matched, nil when none did.
        public var route: Int?
        public var authorization: String?
        public var body: [String: Any]
        /// The body as sent (key order kept).
        public var raw: String
        public var messages: [[String: Any]] { body["messages"] as? [[String: Any]] ?? [] }
        /// `response_format.type`, nil when the request had none.
        public var responseFormatType: String? { (body["response_format"] as? [String: Any])?["type"] as? String }
        public var systemPrompt: String { messages.first?["content"] as? String ?? "" }
    }

    public func requests() -> [Request] {
        guard let data = try? Data(contentsOf: logURL) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(time: object["time"] as? Double ?? 0, route: object["route"] as? Int,
                           authorization: object["authorization"] as? String,
                           body: object["body"] as? [String: Any] ?? [:], raw: object["raw"] as? String ?? "")
        }
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(3)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}

/// JSON text of a value, for scripted assistant replies.
public func jsonText(_ value: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
}
