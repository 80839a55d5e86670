import ArgumentParser
import Bus
import Council
import Events
import Foundation
import Logging
import ServiceLifecycle
import ServiceRuntime
import Store
import Resilience

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

    @Option(help: "Name of this replica, for logs and metrics.")
    var replicaID = "replica-\(ProcessInfo.processInfo.processIdentifier)"

    @Option(help: "Topic to consume.")
    var queriesTopic = QuerySubmitted.defaultTopic

    @Option(help: "Topic to publish annotations on.")
    var annotationsTopic = AnnotationProduced.defaultTopic

    @Option(help: "Partitions of the topics when this service creates them.")
    var partitions = 4

    @Option(help: "Council backend: builtin or llm (endpoint from CDRA_LLM_BASE_URL, CDRA_LLM_MODEL).")
    var backend: CouncilBackendName = .builtin

    @Option(help: "Largest batch taken from the topic at once.")
    var maxBatch = 200

    func validate() throws {
        guard partitions > 0 else { throw ValidationError("--partitions must be positive") }
        guard maxBatch > 0 else { throw ValidationError("--max-batch must be positive") }
    }

    func run() async throws {
        ServiceLogging.bootstrap(service: "council-generator", options: options)
        ServiceMetrics.bootstrap()
        var logger = Logger(label: "council-generator")
        logger[metadataKey: "replica"] = "\(replicaID)"

        let database = Database(configuration: options.databaseConfiguration(applicationName: "council-generator"))
        try await Migrator.migrate(database)
        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: logger)
        try await bus.createTopic(queriesTopic, partitions: partitions)
        try await bus.createTopic(annotationsTopic, partitions: partitions)

        let council = try backend.makeBackend()
        let codec = EventCodec(maxEventBytes: options.maxEventBytes)
        let generator = CouncilGenerator(
            council: council, database: database, bus: bus, annotationsTopic: annotationsTopic,
            producer: "council-generator/\(replicaID)", codec: codec, logger: logger)
        var processorConfiguration = EventProcessorConfiguration(maxBatch: maxBatch)
        processorConfiguration.codec = codec
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: queriesTopic, group: group, configuration: processorConfiguration,
            logger: logger, handler: { batch in try await generator.handle(batch) })

        let runner = try ServiceRunner(
            name: "council-generator", options: options,
            healthChecks: [
                HealthCheck("database") { (try? await database.withConnection { try $0.execute("SELECT 1") }) != nil },
            ],
            services: [EventProcessorService(processor: processor, flushing: bus)], logger: logger)
        if let port = runner.httpPort { logger.info("operations endpoint", metadata: ["port": "\(port)"]) }
        try await runner.run()
        database.shutdown()
    }
}

extension CouncilBackendName: ExpressibleByArgument {}

