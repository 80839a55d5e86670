import ArgumentParser
import Bus
import CriticClient
import Foundation
import Logging
import PolicyTraining
import ServiceRuntime
import Store
import Tensor

/// `policy-trainer bench` (`make bench-trainer`): RL steps of the default configuration against
/// critic replicas over Kafka (child processes of `critic serve`), each step's time split into
/// sampling, the critique round trip and the update, plus tokens/s; writes
/// bench-results/trainer.json. The benchmark's run is deleted afterwards.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time RL steps: sampling, critique round trip, update; write bench-results/trainer.json.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var policy: PolicyOptions
    @Option(help: "Critic backend of the replicas: prm, scalar or oracle.") var criticBackend = "prm"
    @Option(help: "Critic replicas (one thread each).") var replicas = 2
    @Option(help: "Measured steps (after one warm-up step).") var measure = 3
    @Option(help: "BLAS threads of the trainer.") var threads = 2
    @Option(help: "Where to write the figures.") var json = "bench-results/trainer.json"
    @Option(help: "The critic executable (default: beside this one).") var criticExecutable: String?

    func run() async throws {
        let setup = try await CommandSetup(service: "policy-trainer-bench", options: options, policy: policy, threads: threads)
        let config = setup.config, database = setup.database
        defer { database.shutdown() }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let run = "bench-trainer-\(suffix)"
        let runner = try await PolicyRun.prepare(run: run, config: config, options: options, database: database, force: false,
                                                 announce: false)
        defer { Task { try? await database.withConnection { try TrainerStateRepository($0).deleteRun(run) } } }

        let requests = "bench.trainer.requests.\(suffix)"
        let critics = try CriticReplicas(executable: criticExecutable, backend: criticBackend, count: replicas,
                                         group: "bench-trainer-\(suffix)", requestsTopic: requests, name: "trainer-\(suffix)")
        defer { critics.stop() }
        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: Logger(label: "policy-trainer-bench"))
        let scorer = try await KafkaCritiqueScorer(
            bus: bus, requestsTopic: requests, replyTopic: "bench.trainer.replies.\(suffix)", group: "bench-trainer-reader-\(suffix)",
            partitions: max(replicas, 2), timeout: .seconds(120), resends: 1)
        defer { Task { await scorer.close() } }

        print("bench-trainer: \(config.promptsPerStep) prompts × G \(config.groupSize), up to \(config.maxNewTokens) new tokens, "
              + "\(replicas) \(criticBackend) critic replica(s), \(threads) trainer thread(s); 1 warm-up step, \(measure) measured")
        var rows: [[String: Double]] = []
        for i in 0...measure {
            let result = try await runner.trainer.step(scorer: scorer)
            try critics.checkAlive()
            let m = result.metrics
            print(String(format: "step %d%@: sampling %.2f s, critique round trip %.2f s (p50 %.0f ms, p99 %.0f ms), update %.2f s; total %.2f s, %.0f tokens/s, %.0f response tokens",
                         i, i == 0 ? " (warm-up)" : "", m["sampling_s"] ?? 0, m["critique_s"] ?? 0, m["critique_p50_ms"] ?? 0,
                         m["critique_p99_ms"] ?? 0, m["update_s"] ?? 0, m["step_s"] ?? 0, m["tokens_per_s"] ?? 0,
                         m["response_tokens_mean"] ?? 0))
            if i > 0 { rows.append(m) }
        }
        func mean(_ key: String) -> Double { rows.map { $0[key] ?? 0 }.reduce(0, +) / Double(max(1, rows.count)) }
        let sequences = Double(config.promptsPerStep * config.groupSize)
        let sampledTokens = mean("response_tokens_mean") * sequences
        let figures: [String: Any] = [
            "config": (try? JSONSerialization.jsonObject(with: Data(config.json.utf8))) ?? [:],
            "critic_backend": criticBackend, "critic_replicas": replicas, "trainer_threads": threads, "measured_steps": rows.count,
            "sampling_s": mean("sampling_s"), "critique_s": mean("critique_s"), "update_s": mean("update_s"), "step_s": mean("step_s"),
            "tokens_per_s": mean("tokens_per_s"), "sampling_tokens_per_s": sampledTokens / max(1e-9, mean("sampling_s")),
            "critique_p50_ms": mean("critique_p50_ms"), "critique_p99_ms": mean("critique_p99_ms"),
            "response_tokens_mean": mean("response_tokens_mean"), "samples_gated_mean": mean("samples_gated"),
        ]
        print(String(format: "mean of %d steps: sampling %.2f s (%.0f tokens/s), critique round trip %.2f s, update %.2f s; step %.2f s, %.0f tokens/s",
                     rows.count, mean("sampling_s"), sampledTokens / max(1e-9, mean("sampling_s")), mean("critique_s"), mean("update_s"),
                     mean("step_s"), mean("tokens_per_s")))
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: json).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: json))
        print("wrote \(json)")
    }
}
