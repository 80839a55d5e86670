import ChatCompletionsTesting
import Testing

/// One llama.cpp server for the whole suite it is attached to (`@Suite(.llamaServer)`): started
/// before the suite's first test, stopped after its last. A missing installation fails the suite
/// with LlamaServerFixture's message.
struct SharedLlamaServer: SuiteTrait, TestScoping {
    @TaskLocal static var current: LlamaServerFixture?

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let server = try await LlamaServerFixture.start()
        defer { server.stop() }
        print("llama.cpp server: \(server.modelPath) on port \(server.port), ready after "
              + String(format: "%.1f", server.startSeconds) + " s")
        try await Self.$current.withValue(server) { try await function() }
    }

    /// The suite's server.
    static func server() throws -> LlamaServerFixture {
        try #require(current, "no llama.cpp server: the suite needs the .llamaServer trait")
    }
}

extension Trait where Self == SharedLlamaServer {
    /// Runs the suite against one real llama.cpp server.
    static var llamaServer: Self { Self() }
}
