import ArgumentParser
import DeepPref
import DeepPrefFormats
import Foundation

/// `cdra deeppref build --pairs 3000 --seed S --out FILE.jsonl [--perturbed-out FILE.jsonl]`
struct DeepPrefBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Synthesize the DeepPref benchmark (deterministic from the seed) as JSONL.")

    @Option(help: "Total number of pairs, spread evenly over the 20 topics.")
    var pairs = 3000

    @Option(help: "Seed; the same seed gives byte-identical output.")
    var seed: UInt64 = 1

    @Option(help: "Output JSONL file (train, validation and test pairs).")
    var out: String

    @Option(help: "Optional JSONL file for the perturbed copy of the test split.")
    var perturbedOut: String?

    @Option(help: "Knowledge pack directory (default: the pack shipped with the tool).")
    var pack: String?

    func run() throws {
        let started = Date()
        let knowledge = try pack.map { try KnowledgePack.load(from: URL(fileURLWithPath: $0)) } ?? KnowledgePack.builtin()
        let builder = try DeepPrefBuilder(pack: knowledge, config: DeepPrefBuildConfig(pairs: pairs, seed: seed))
        StandardError.write("deeppref build: \(pairs) pairs, seed \(seed), \(knowledge.topics.count) topics, \(knowledge.dimensions.count) dimensions")
        let benchmark = try builder.build { done, total in
            StandardError.write("  \(done)/\(total) pairs")
        }
        try DeepPrefJSONL.encode(benchmark.pairs).write(to: URL(fileURLWithPath: out))
        var counts: [String: Int] = [:]
        for p in benchmark.pairs { counts[p.split ?? "-", default: 0] += 1 }
        let summary = DeepPrefBuilder.splitNames.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", ")
        StandardError.write("wrote \(benchmark.pairs.count) pairs to \(out) (\(summary))")
        if let p = perturbedOut {
            try DeepPrefJSONL.encode(benchmark.perturbedTest).write(to: URL(fileURLWithPath: p))
            StandardError.write("wrote \(benchmark.perturbedTest.count) perturbed test pairs to \(p)")
        }
        StandardError.write(String(format: "done in %.2f s", Date().timeIntervalSince(started)))
    }
}
