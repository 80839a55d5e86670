import ArgumentParser
import CriticService
import ServiceRuntime
import Testing

@Suite("critic options")
struct CriticOptionsTests {
    static func parse(_ arguments: [String], environment: [String: String] = [:]) throws -> CriticOptions {
        try ServiceOptions.$environment.withValue(environment) { try CriticOptions.parse(arguments) }
    }

    @Test("defaults: prm, 16 requests or 20 ms, one thread")
    func defaults() throws {
        let options = try Self.parse([])
        #expect(options.backend == .prm && options.maxBatch == 16 && options.maxWaitMs == 20 && options.threads == 1)
    }

    @Test("a flag wins over its variable, the variable over the default; an empty variable counts as unset")
    func precedence() throws {
        let environment = ["CDRA_CRITIC_BACKEND": "oracle", "CDRA_CRITIC_MAX_BATCH": "32", "CDRA_CRITIC_MAX_WAIT_MS": " ",
                           "CDRA_CRITIC_THREADS": "2"]
        let fromEnvironment = try Self.parse([], environment: environment)
        #expect(fromEnvironment.backend == .oracle && fromEnvironment.maxBatch == 32)
        #expect(fromEnvironment.maxWaitMs == 20 && fromEnvironment.threads == 2)
        let fromFlags = try Self.parse(["--backend", "FIXTURE", "--max-batch", "4", "--max-wait-ms", "0"], environment: environment)
        #expect(fromFlags.backend == .fixture && fromFlags.maxBatch == 4 && fromFlags.maxWaitMs == 0)
    }

    @Test("every problem is reported at once, naming its flag or variable")
    func problemsNameTheirSource() throws {
        let error = try #require(throws: (any Error).self) {
            _ = try Self.parse(["--max-batch", "0", "--fixture-delay-ms", "5"],
                               environment: ["CDRA_CRITIC_BACKEND": "gpt", "CDRA_CRITIC_THREADS": "many"])
        }
        let message = CriticOptions.message(for: error)
        #expect(message.contains("Unknown critic backend 'gpt' (from environment variable CDRA_CRITIC_BACKEND)"), "\(message)")
        #expect(message.contains("Max batch '0' (from flag) must be an integer in 1...1024."))
        #expect(message.contains("Threads 'many' (from environment variable CDRA_CRITIC_THREADS)"))
        #expect(message.contains("--fixture-delay-ms is for the test fixture only"))
    }
}
