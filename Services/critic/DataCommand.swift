import ArgumentParser
import DeepPref
import Foundation
import OracleJudge
import RewardModel
import ServiceRuntime
import Store

/// `critic data`: builds and stores the labelled PRM corpus without training, and prints its
/// make-up and lengths.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Build the oracle-labelled PRM corpus from PostgreSQL and store its responses.")

    @OptionGroup var options: ServiceOptions
    @Option(help: "Split.") var split = "train"
    @Option(help: "At most this many queries.") var limit: Int?
    @Option(help: "Print this many examples with their labels.") var show = 0

    func run() async throws {
        CriticData.lineBufferedOutput()
        ServiceLogging.bootstrap(service: "critic-data", options: options)
        let database = Database(configuration: options.databaseConfiguration(applicationName: "critic-data"))
        defer { database.shutdown() }
        try await Migrator.migrate(database)
        let items = try await CriticData.annotatedQueries(database, split: split, limit: limit)
        let corpus = PRMCorpus(pack: try KnowledgePack.builtin())
        let started = Date()
        let examples = corpus.examples(items), probes = corpus.probes(items)
        print(String(format: "critic data: %d %@ queries -> %d examples and %d probes in %.1f s", items.count, split,
                     examples.count, probes.count, Date().timeIntervalSince(started)))
        print("critic data: \(CriticData.summary(examples + probes))")
        let chars = examples.map { PRMFormat.promptText(profile: $0.profile, question: $0.question, steps: $0.variant.steps,
                                                        answer: $0.variant.answer).count + $0.label.text.count }.sorted()
        if !chars.isEmpty {
            print("critic data: prompt+target characters p50 \(chars[chars.count / 2]), p95 \(chars[chars.count * 95 / 100]), max \(chars.last!)")
        }
        for e in examples.prefix(show) {
            print("--- \(e.responseID)\n\(e.variant.text)\n>>>\n\(e.label.text)")
        }
        let stored = try await CriticData.store(examples, database: database)
        print("critic data: stored \(stored.responses) new responses and \(stored.labels) new oracle labels")
    }
}
