import Bus
import Council
import Events
import Foundation
import Logging
import Metrics
import Store

/// The business logic of the council generator, independent of how events arrive.
struct CouncilGenerator: Sendable {
    /// The name under which this service records processed events.
    static let consumerName = "council-generator"

    let council: any CouncilBackend
    let database: Database
    let bus: any MessageBus
    let annotationsTopic: String
    let producer: String
    /// Encodes the published events (same size limit as the consumer's).
    let codec: EventCodec
    let logger: Logger

    private static let annotated = Counter(label: "cdra_council_annotated_total")
    private static let replayed = Counter(label: "cdra_council_replayed_total")

    /// Handles one poll batch. Idempotent: a batch delivered again writes nothing twice and
    /// republishes the stored annotations under the same event ids.
    func handle(_ batch: [DecodedEvent<QuerySubmitted>]) async throws {
        let ids = batch.map(\.envelope.eventID)
        let alreadyDone = try await database.withConnection { connection in
            try ProcessedEventLedger(connection).processed(ids, consumer: Self.consumerName)
        }
        let fresh = batch.filter { !alreadyDone.contains($0.envelope.eventID) }
        let annotations = try await annotate(fresh.map(\.envelope.payload))

        let rows = batch.map { event in
            (eventID: event.envelope.eventID, topic: event.message.topic, partition: event.message.partition,
             offset: event.message.offset, payload: event.envelope.payload)
        }
        let freshAnnotations = zip(fresh, annotations).map { event, annotation in
            (annotation: annotation, sourceEventID: Self.annotationEventID(for: event))
        }
        // One transaction claims the events, writes what is new and reads back what is stored for
        // the whole batch: a replayed event republishes exactly the annotation the database holds.
        let queryIDs = batch.map(\.envelope.payload.queryID)
        let backend = council.name
        let stored = try await database.transaction { connection in
            try QueryRepository(connection).storeSubmittedQueries(rows, consumer: Self.consumerName)
            try AnnotationRepository(connection).store(freshAnnotations)
            return try AnnotationRepository(connection).load(queryIDs: queryIDs, backend: backend)
        }
        Self.annotated.increment(by: fresh.count)
        if fresh.count < batch.count { Self.replayed.increment(by: batch.count - fresh.count) }

        // Publish for the whole batch, replays included: a crash between the database commit and
        // this send must not lose the annotation event. Event ids derive from the query event, so
        // consumers drop the repeats.
        var messages: [OutgoingMessage] = []
        messages.reserveCapacity(batch.count)
        for event in batch {
            let query = event.envelope.payload
            guard let annotation = stored[query.queryID] else { continue }
            let envelope = EventEnvelope(
                payload: AnnotationProduced(query: query, annotation: annotation), producer: producer,
                correlationID: event.envelope.correlationID ?? query.queryID,
                eventID: Self.annotationEventID(for: event))
            messages.append(OutgoingMessage(topic: annotationsTopic, key: Array(query.queryID.utf8),
                                            value: try codec.encode(envelope)))
        }
        try await bus.send(messages)
    }

    /// The id of the `annotation_produced` event for a query event: the same on every replay.
    private static func annotationEventID(for event: DecodedEvent<QuerySubmitted>) -> UUID {
        DerivedEventID.make(from: event.envelope.eventID, purpose: .annotation)
    }

    /// Annotates queries concurrently, keeping their order; the first failure fails the batch (the
    /// event processor then retries or isolates the failing event).
    private func annotate(_ queries: [QuerySubmitted]) async throws -> [CouncilAnnotation] {
        guard !queries.isEmpty else { return [] }
        let council = self.council
        let width = max(1, min(ProcessInfo.processInfo.activeProcessorCount, queries.count))
        return try await withThrowingTaskGroup(of: (Int, CouncilAnnotation).self) { group in
            var results = [CouncilAnnotation?](repeating: nil, count: queries.count)
            var next = 0
            for _ in 0..<width {
                let index = next; next += 1
                group.addTask { (index, try await council.annotate(queries[index])) }
            }
            while let (index, annotation) = try await group.next() {
                results[index] = annotation
                if next < queries.count {
                    let index = next; next += 1
                    group.addTask { (index, try await council.annotate(queries[index])) }
                }
            }
            return results.map { $0! }
        }
    }
}
