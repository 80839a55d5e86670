import CRdKafka
import Foundation
import Logging
import Resilience

/// One consumer-group member over its own librdkafka client. Every call on the client runs on one
/// serial queue (a dedicated thread): polls block, and librdkafka serves rebalances inside them.
final class KafkaConsumer: MessageConsumer, @unchecked Sendable {
    private let rk: OpaquePointer
    private let context: RdKafkaContext
    private let queue: DispatchQueue
    private let group: String
    private let logger: Logger
    private let closed = Locked(false)
    // The last consumer error logged, so a missing topic is reported once, not on every poll.
    private let lastLoggedError = Locked<String?>(nil)

    init(configuration: KafkaConfiguration, topics: [String], group: String, logger: Logger) throws {
        guard !topics.isEmpty else {
            throw BusError(.configuration, "a consumer needs at least one topic", isRetriable: false)
        }
        guard !group.isEmpty else {
            throw BusError(.configuration, "a consumer needs a group id", isRetriable: false)
        }
        self.group = group
        var logger = logger
        logger[metadataKey: "group"] = "\(group)"
        self.logger = logger
        queue = DispatchQueue(label: "cdra.kafka.consumer.\(group)")
        context = RdKafkaContext(logger: logger)
        var settings: [(String, String)] = [
            ("bootstrap.servers", configuration.brokers),
            ("client.id", configuration.clientID),
            ("group.id", group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "\(configuration.sessionTimeoutMs)"),
            ("heartbeat.interval.ms", "\(configuration.heartbeatIntervalMs)"),
            // A subscribed topic that does not exist yet is looked up again at this interval
            // (librdkafka's default is 5 minutes, too long for services that start before it).
            ("topic.metadata.refresh.interval.ms", "10000"),
        ]
        settings += configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let conf = try RdKafka.makeConf(settings, context: context)
        rk = try RdKafka.makeClient(RD_KAFKA_CONSUMER, conf: conf)
        // Serve rebalances, errors and logs from rd_kafka_consumer_poll.
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let err = rd_kafka_subscribe(rk, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_destroy(rk)
            throw RdKafka.error(.configuration, err, "could not subscribe to \(topics)")
        }
        logger.debug("consumer subscribed", metadata: ["topics": "\(topics)"])
    }

    deinit {
        // rd_kafka_destroy leaves the group itself when close() was not called.
        rd_kafka_destroy(rk)
    }

    private func ensureOpen() throws {
        if closed.current {
            throw BusError(.closed, "consumer of group '\(group)' is closed", isRetriable: false)
        }
    }

    func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        precondition(maxMessages > 0, "maxMessages must be positive")
        try ensureOpen()
        let timeoutMs = Int32(clamping: timeout.roundedUpMilliseconds)
        return try await runBlocking(on: queue) { [self] in
            try ensureOpen()
            var batch: [BusMessage] = []
            batch.reserveCapacity(min(maxMessages, 1024))
            // Wait for the first message, then take whatever else is already fetched.
            var wait = timeoutMs
            while batch.count < maxMessages, let message = rd_kafka_consumer_poll(rk, wait) {
                defer { rd_kafka_message_destroy(message) }
                wait = 0
                if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    try handleConsumerError(message)
                    continue
                }
                batch.append(Self.busMessage(message))
            }
            return batch
        }
    }

    private func handleConsumerError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) throws {
        let err = message.pointee.err
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        var errstr = [CChar](repeating: 0, count: 512)
        let fatal = rd_kafka_fatal_error(rk, &errstr, errstr.count)
        if fatal != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw BusError(.consumeFailed, "fatal consumer error: \(String(cString: errstr))",
                           isRetriable: false, kafkaErrorName: RdKafka.name(fatal))
        }
        // Other consumer errors are informational: librdkafka recovers by itself (a topic that
        // does not exist yet, a broker restarting).
        let text = "\(RdKafka.name(err)): \(String(cString: rd_kafka_message_errstr(message)))"
        let isNew = lastLoggedError.withLock { last -> Bool in
            defer { last = text }
            return last != text
        }
        if isNew { logger.warning("consumer error", metadata: ["error": "\(text)"]) }
    }

    private static func busMessage(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> BusMessage {
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = m.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ms = rd_kafka_message_timestamp(message, &timestampType)
        let timestamp = ms >= 0 ? Date(timeIntervalSince1970: Double(ms) / 1000) : nil
        return BusMessage(topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, timestamp: timestamp)
    }

    func commit(_ messages: [BusMessage]) async throws {
        try ensureOpen()
        var next: [TopicPartition: Int64] = [:]
        for message in messages {
            next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1)
        }
        guard !next.isEmpty else { return }
        let offsets = next
        try await runBlocking(on: queue) { [self] in
            try ensureOpen()
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (tp, offset) in offsets.sorted(by: { $0.key < $1.key }) {
                rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)?.pointee.offset = offset
            }
            // Synchronous: returns once the group coordinator stored the offsets.
            let err = rd_kafka_commit(rk, list, 0)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RdKafka.error(.commitFailed, err, "could not commit offsets of group '\(group)'")
            }
            guard let list else { return }
            for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let element = list.pointee.elems[i]
                throw RdKafka.error(.commitFailed, element.err,
                                    "could not commit offset of \(String(cString: element.topic))[\(element.partition)] for group '\(group)'")
            }
        }
    }

    func assignment() async throws -> [TopicPartition] {
        try ensureOpen()
        return try await runBlocking(on: queue) { [self] in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let err = rd_kafka_assignment(rk, &list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
                throw RdKafka.error(.consumeFailed, err, "could not read the assignment")
            }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return (0..<Int(list.pointee.cnt)).map {
                TopicPartition(topic: String(cString: list.pointee.elems[$0].topic), partition: list.pointee.elems[$0].partition)
            }.sorted()
        }
    }

    func close() async {
        let alreadyClosed = closed.withLock { closed -> Bool in
            defer { closed = true }
            return closed
        }
        if alreadyClosed { return }
        _ = try? await runBlocking(on: queue) { [self] in
            let err = rd_kafka_consumer_close(rk)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("consumer did not leave the group cleanly", metadata: ["error": "\(RdKafka.describe(err))"])
            } else {
                logger.debug("consumer left the group")
            }
        }
    }
}
