import ArgumentParser
import Bus
import Critique
import Events
import Foundation
import Resilience
import ServiceLifecycle
import ServiceRuntime
import Store
import Tensor

/// `critic serve`: consumes `critic.requests.v1` in a consumer group, answers each micro-batch of
/// requests with one backend call, stores every reply in PostgreSQL by request id and publishes it
/// on the request's reply topic. Replicas share the requests' partitions; each one follows the
/// PRM checkpoints announced on `training.checkpoints.v1` on its own.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Answer critique requests (the default subcommand).")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var critic: CriticOptions

    @Option(help: "Consumer group shared by the replicas.")
    var group = "critic"

    @Option(help: "Name of this replica, for logs, metrics and its checkpoint group. Default: replica-<pid>")
    var replicaID: String?

    @Option(help: "Topic to consume. Env CDRA_TOPIC_CRITIQUE_REQUESTS. Default: \(TopicSetting.critiqueRequests.defaultTopic)")
    var requestsTopic: String?

    @Option(help: "The default reply topic, created at start. Env CDRA_TOPIC_CRITIQUES. Default: \(TopicSetting.critiques.defaultTopic)")
    var critiquesTopic: String?

    @Option(help: "Where new PRM checkpoints are announced. Env CDRA_TOPIC_CHECKPOINTS. Default: \(TopicSetting.checkpoints.defaultTopic)")
    var checkpointsTopic: String?

    @Option(help: "Partitions of the topics when this service creates them. Env CDRA_TOPIC_PARTITIONS. Default: 4")
    var partitions: Int?

    func validate() throws {
        guard (partitions ?? 1) > 0 else { throw ValidationError("--partitions must be positive") }
    }

    func run() async throws {
        let requests = options.topic(.critiqueRequests, flag: requestsTopic)
        let critiques = options.topic(.critiques, flag: critiquesTopic)
        let checkpoints = options.topic(.checkpoints, flag: checkpointsTopic)
        let critic = self.critic
        let group = self.group
        // One compute thread per replica (OpenBLAS single-threaded under it): replicas scale out.
        BLAS.setThreadCount(critic.threads)
        var factory = CriticBackendFactory(kind: critic.backend, fixture: critic.fixture)
        factory.finalScore = critic.finalScore
        let follows = critic.backend.followsCheckpoints
        let loaded = Locked<CriticBackends?>(nil)
        let ready = HealthCheck("backend") { loaded.current?.isReady ?? false }

        try await runService("critic", options: options, replicaID: replicaID,
                             topics: [requests, critiques] + (follows ? [checkpoints] : []),
                             partitions: partitions, healthChecks: [ready]) { context in
            var factory = factory
            let database = context.database
            factory.annotationLookup = { queryIDs in
                try await database.withConnection { connection in
                    try AnnotationRepository(connection).annotatedQueries(backend: CriticData.annotationBackend, byID: queryIDs)
                }
            }
            let backends = CriticBackends(factory: factory, database: context.database, logger: context.logger)
            try await backends.refresh()
            loaded.withLock { $0 = backends }
            let current = backends.current
            context.logger.info("critic ready", metadata: [
                "settings": "\(critic.description)", "checkpoint": "\(current.checkpointID ?? "none")",
                "follows_checkpoints": "\(follows)"])
            let handler = CritiqueRequestHandler(
                backends: backends, database: context.database, bus: context.bus, requestsTopic: requests, group: group,
                producer: context.producer, codec: context.codec,
                topics: TopicDirectory(bus: context.bus, known: [critiques]), logger: context.logger)
            var members: [any Service] = [
                context.consumer(of: CritiqueRequested.self, topic: requests, group: group,
                                 maxBatch: critic.maxBatch, maxWait: critic.maxWait) { batch in
                    try await handler.handle(batch)
                },
            ]
            if follows {
                // A group of its own per replica: every replica must see every announcement.
                members.append(context.consumer(of: CheckpointPublished.self, topic: checkpoints,
                                                group: "\(group)-checkpoints-\(context.replicaID)", maxBatch: 100) { batch in
                    if batch.contains(where: { $0.envelope.payload.modelKind == .prm }) {
                        try await backends.refresh()
                    }
                })
            }
            return members
        }
    }
}
