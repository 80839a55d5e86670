import ArgumentParser
import Council
import Events
import Foundation
import ServiceRuntime

/// The council generator: consumes `deeppref.queries.v1` in a consumer group, annotates every new
/// query with the Cognitive Council, stores queries and annotations in PostgreSQL idempotently and
/// publishes `deeppref.annotations.v1`.
@main
struct CouncilGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "council-generator",
        abstract: "Annotates submitted queries with the Cognitive Council.")

    @OptionGroup var options: ServiceOptions

    @Option(help: "Consumer group shared by the replicas. Default: council-generator")
    var group = "council-generator"

    @Option(help: "Name of this replica, for logs and metrics. Default: replica-<pid>")
    var replicaID: String?

    @Option(help: "Topic to consume. Env CDRA_TOPIC_QUERIES. Default: \(TopicSetting.queries.defaultTopic)")
    var queriesTopic: String?

    @Option(help: "Topic to publish annotations on. Env CDRA_TOPIC_ANNOTATIONS. Default: \(TopicSetting.annotations.defaultTopic)")
    var annotationsTopic: String?

    @Option(help: "Partitions of the topics when this service creates them. Env CDRA_TOPIC_PARTITIONS. Default: 4")
    var partitions: Int?

    @Option(help: "Council backend: builtin, situated (with the sentence encoder) or llm (endpoint from CDRA_LLM_BASE_URL, CDRA_LLM_MODEL).")
    var backend: CouncilBackendName = .builtin

    @Option(help: "Largest batch taken from the topic at once.")
    var maxBatch = 200

    func validate() throws {
        guard (partitions ?? 1) > 0 else { throw ValidationError("--partitions must be positive") }
        guard maxBatch > 0 else { throw ValidationError("--max-batch must be positive") }
    }

    func run() async throws {
        let queries = options.topic(.queries, flag: queriesTopic)
        let annotations = options.topic(.annotations, flag: annotationsTopic)
        let council = try backend.makeBackend()
        try await runService("council-generator", options: options, replicaID: replicaID,
                             topics: [queries, annotations], partitions: partitions) { context in
            let generator = CouncilGenerator(
                council: council, database: context.database, bus: context.bus, annotationsTopic: annotations,
                producer: context.producer, codec: context.codec, logger: context.logger)
            return [context.consumer(of: QuerySubmitted.self, topic: queries, group: group, maxBatch: maxBatch) { batch in
                try await generator.handle(batch)
            }]
        }
    }
}

extension CouncilBackendName: ExpressibleByArgument {}
