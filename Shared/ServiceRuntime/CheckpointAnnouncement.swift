import Bus
import Events
import Foundation
import Logging
import Store

/// Announces a stored checkpoint on `training.checkpoints.v1` (the weights stay in PostgreSQL),
/// with an event id derived from the checkpoint id, so announcing it again is a duplicate the
/// consumers drop.
public enum CheckpointAnnouncement {
    public static func announce(_ record: CheckpointRecord, kind: ModelKind, algorithm: TrainingAlgorithm,
                                metrics: [String: Double], database: Database, options: ServiceOptions,
                                producer: String) async throws {
        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: Logger(label: producer))
        let topic = options.topic(.checkpoints, flag: nil)
        try await bus.createTopic(topic, partitions: options.topicPartitions)
        let id = record.checkpointID
        guard let sha = try await database.withConnection({ try CheckpointRepository($0).sha256(of: id) }) else {
            throw StoreError(.queryFailed, "checkpoint \(id) vanished after saving")
        }
        let payload = CheckpointPublished(checkpointID: id, modelKind: kind, runID: record.runID ?? "",
                                          step: Int64(record.step), algorithm: algorithm, sha256: sha,
                                          sizeBytes: Int64(record.safetensors.count), metrics: metrics.filter { $0.value.isFinite })
        let envelope = EventEnvelope(payload: payload, producer: producer,
                                     eventID: DerivedEventID.make(fromName: id, purpose: .checkpoint))
        try await bus.send([OutgoingMessage(topic: topic, key: record.runID ?? id, value: try EventCodec().encode(envelope))])
        _ = await bus.flush(timeout: .seconds(10))
    }
}
