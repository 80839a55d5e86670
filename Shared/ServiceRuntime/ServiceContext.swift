import Bus
import Events
import Logging
import ServiceLifecycle
import Store

/// What the runtime hands a service's setup closure in `runService`: the resolved options and
/// clients that are already connected, migrated and checked.
public struct ServiceContext: Sendable {
    /// The service's name, as in logs, metrics and `/health`.
    public let name: String
    /// This replica's name (`--replica-id`); also in every log line's metadata.
    public let replicaID: String
    public let options: ServiceOptions
    /// Labelled with the service's name and carrying the replica id.
    public let logger: Logger
    /// The PostgreSQL pool, migrated to the current schema version.
    public let database: Database
    /// The Kafka client; the topics the service named exist.
    public let bus: KafkaBus
    /// Encodes and decodes events with the configured size limit (`--max-event-bytes`).
    public let codec: EventCodec

    /// `<service>/<replica>`: the `producer` field of the events this replica publishes.
    public var producer: String { "\(name)/\(replicaID)" }

    /// An ``EventProcessor`` on `topic` in consumer group `group`, as a member of the service
    /// group: it stops polling on SIGTERM and finishes and commits the batch in hand before it
    /// returns (`runService` flushes the producer once every member has returned). Decoding uses the context's codec, so oversized and malformed
    /// events are dead-lettered to `<topic>.dlq`.
    ///
    /// `maxWait` collects a micro-batch: after the first message, the processor keeps polling for
    /// up to that long until it holds `maxBatch` events (``EventProcessorConfiguration/maxWait``).
    public func consumer<P: EventPayload>(
        of payload: P.Type, topic: String, group: String, maxBatch: Int = 500, maxWait: Duration? = nil,
        handler: @escaping @Sendable ([DecodedEvent<P>]) async throws -> Void
    ) -> EventProcessorService<P> {
        var configuration = EventProcessorConfiguration(maxBatch: maxBatch)
        configuration.maxWait = maxWait
        configuration.codec = codec
        let processor = EventProcessor<P>(bus: bus, topic: topic, group: group, configuration: configuration,
                                          logger: logger, handler: handler)
        return EventProcessorService(processor: processor)
    }
}
