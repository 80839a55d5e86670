import CRdKafka
import Foundation
import Logging
import Resilience

/// The message bus over Kafka (librdkafka).
///
/// One idempotent producer (`enable.idempotence=true`, `acks=all`) is shared by every send; a
/// dedicated thread serves its delivery reports, and ``send(_:)`` returns only when all of its
/// messages were acknowledged. Each consumer is its own librdkafka client with manual commits
/// (`enable.auto.commit=false`, `enable.auto.offset.store=false`, `auto.offset.reset=earliest`).
public final class KafkaBus: MessageBus, @unchecked Sendable {
    public let configuration: KafkaConfiguration
    private let logger: Logger
    private let producer: KafkaProducerClient
    // Admin and metadata requests block; they run here, one at a time, off the cooperative pool.
    private let adminQueue = DispatchQueue(label: "cdra.kafka.admin")

    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        var settings: [(String, String)] = [
            ("bootstrap.servers", configuration.brokers),
            ("client.id", configuration.clientID),
            ("enable.idempotence", "true"),
            ("acks", "all"),
        ]
        settings += configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        producer = try KafkaProducerClient(settings: settings, logger: logger)
        logger.info("kafka bus ready", metadata: [
            "librdkafka": "\(RdKafka.runtimeVersion)",
            "brokers": "\(configuration.brokers)",
            "client_id": "\(configuration.clientID)",
            "session_timeout_ms": "\(configuration.sessionTimeoutMs)",
            "heartbeat_interval_ms": "\(configuration.heartbeatIntervalMs)",
            "properties": "\(configuration.redactedProperties.sorted { $0.key < $1.key })",
        ])
    }

    /// The librdkafka version loaded at run time.
    public static var librdkafkaVersion: String { RdKafka.runtimeVersion }

    // MARK: - Producing

    public func send(_ messages: [OutgoingMessage]) async throws {
        guard !messages.isEmpty else { return }
        let tracker = DeliveryTracker()
        var enqueueError: BusError?
        var enqueued = 0
        produceLoop: for message in messages {
            while true {
                tracker.willEnqueue()
                let opaque = Unmanaged.passRetained(tracker).toOpaque()
                guard let failure = producer.produce(message, opaque: opaque) else {
                    enqueued += 1
                    break
                }
                Unmanaged<DeliveryTracker>.fromOpaque(opaque).release()
                tracker.enqueueFailed()
                if failure.kafkaErrorName == "_QUEUE_FULL" {
                    // The local queue drains as the broker acknowledges; wait a little, even if cancelled.
                    await Self.pause(milliseconds: 2)
                    continue
                }
                enqueueError = failure
                break produceLoop
            }
        }
        tracker.doneProducing()
        await tracker.wait()
        if let failure = tracker.failure(total: messages.count, brokers: configuration.brokers,
                                         lastClientError: producer.context.lastClientError.current) {
            throw failure
        }
        if var enqueueError {
            enqueueError.message += " (\(enqueued) earlier messages of this send were acknowledged)"
            throw enqueueError
        }
    }

    /// Waits up to `timeout` until every message handed to librdkafka left it; true when none is left.
    /// ``send(_:)`` already waits for its own messages, so this matters only at shutdown.
    public func flush(timeout: Duration) async -> Bool {
        let producer = self.producer
        let ms = Int32(clamping: timeout.roundedUpMilliseconds)
        return (try? await runBlocking(on: adminQueue) { producer.flush(timeoutMs: ms) }) ?? false
    }

    private static func pause(milliseconds: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) { continuation.resume() }
        }
    }

    // MARK: - Topics

    public func createTopic(_ name: String, partitions: Int) async throws {
        guard partitions > 0, partitions <= Int(Int32.max) else {
            throw BusError(.configuration, "topic '\(name)': partitions must be positive (is \(partitions))", isRetriable: false)
        }
        let producer = self.producer
        let replication = configuration.replicationFactor
        let created = try await runBlocking(on: adminQueue) {
            try producer.createTopic(name, partitions: partitions, replicationFactor: replication)
        }
        // CreateTopics returns before every broker knows the topic; wait until metadata shows it
        // with a leader for each partition, so producers and consumers can use it at once.
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            if let topic = try await topicMetadata(name), topic.leadersKnown {
                if !created && topic.partitions != partitions {
                    logger.notice("topic already exists with another partition count; left as it is", metadata: [
                        "topic": "\(name)", "partitions": "\(topic.partitions)", "requested": "\(partitions)"])
                }
                if created {
                    logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(partitions)"])
                }
                return
            }
            if ContinuousClock.now > deadline {
                throw BusError(.topicCreation, "topic '\(name)' was created but does not appear in the cluster metadata", isRetriable: true)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    public func partitionCount(of topic: String) async throws -> Int? {
        try await topicMetadata(topic)?.partitions
    }

    private func topicMetadata(_ topic: String) async throws -> KafkaProducerClient.TopicMetadata? {
        let producer = self.producer
        return try await runBlocking(on: adminQueue) { try producer.metadata(of: topic, timeoutMs: 10_000) }
    }

    public func consumerLag(group: String, topic: String) async throws -> [PartitionLag] {
        guard let partitions = try await partitionCount(of: topic) else { return [] }
        let settings: [(String, String)] = [
            ("bootstrap.servers", configuration.brokers),
            ("client.id", configuration.clientID),
            ("group.id", group),
            ("enable.auto.commit", "false"),
        ] + configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let logger = self.logger
        return try await runBlocking(on: adminQueue) {
            try KafkaProducerClient.lag(settings: settings, logger: logger, topic: topic, partitions: partitions)
        }
    }

    // MARK: - Consuming

    public func makeConsumer(topics: [String], group: String) throws -> any MessageConsumer {
        try KafkaConsumer(configuration: configuration, topics: topics, group: group, logger: logger)
    }
}

/// Owns the producer's `rd_kafka_t` and the thread that serves its delivery reports.
final class KafkaProducerClient: @unchecked Sendable {
    let context: RdKafkaContext
    private let rk: OpaquePointer
    private let stopPolling = Locked(false)
    private let pollerExited = DispatchSemaphore(value: 0)

    init(settings: [(String, String)], logger: Logger) throws {
        context = RdKafkaContext(logger: logger)
        let conf = try RdKafka.makeConf(settings, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            Unmanaged<DeliveryTracker>.fromOpaque(opaque).takeRetainedValue().report(message.pointee.err)
        }
        rk = try RdKafka.makeClient(RD_KAFKA_PRODUCER, conf: conf)
        let handle = UncheckedHandle(rk: rk)
        let stop = stopPolling, exited = pollerExited
        let thread = Thread {
            while !stop.current { rd_kafka_poll(handle.rk, 100) }
            exited.signal()
        }
        thread.name = "cdra.kafka.producer-poll"
        thread.start()
    }

    deinit {
        stopPolling.withLock { $0 = true }
        pollerExited.wait()
        // Give queued messages a moment, then fail whatever is left so no send() waits forever.
        rd_kafka_flush(rk, 2000)
        rd_kafka_purge(rk, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        rd_kafka_poll(rk, 0)
        rd_kafka_destroy(rk)
    }

    func flush(timeoutMs: Int32) -> Bool {
        rd_kafka_flush(rk, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Enqueues one message (librdkafka copies key, value and headers); nil on success.
    /// `rd_kafka_producev` is variadic and cannot be called from Swift, hence `rd_kafka_produceva`.
    func produce(_ message: OutgoingMessage, opaque: UnsafeMutableRawPointer) -> BusError? {
        var headers: OpaquePointer?
        if let list = message.headers, !list.isEmpty {
            headers = rd_kafka_headers_new(list.count)
            for (name, value) in list {
                _ = value.withUnsafeBytes { rd_kafka_header_add(headers, name, -1, $0.baseAddress, $0.count) }
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                withOptionalBytes(message.key) { key in
                    var args = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                    args[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    args[0].u.cstr = topic
                    args[1].vtype = RD_KAFKA_VTYPE_VALUE
                    args[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    args[1].u.mem.size = value.count
                    args[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    args[2].u.i = RD_KAFKA_MSG_F_COPY
                    args[3].vtype = RD_KAFKA_VTYPE_OPAQUE
                    args[3].u.ptr = opaque
                    var count = 4
                    if let key {
                        args[count].vtype = RD_KAFKA_VTYPE_KEY
                        args[count].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        args[count].u.mem.size = key.count
                        count += 1
                    }
                    if let headers {
                        args[count].vtype = RD_KAFKA_VTYPE_HEADERS
                        args[count].u.headers = headers
                        count += 1
                    }
                    return rd_kafka_produceva(rk, args, count)
                }
            }
        }
        guard let error else { return nil }
        // On failure the headers were not taken over by a message.
        if let headers { rd_kafka_headers_destroy(headers) }
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        return BusError(.deliveryFailed,
                        "could not enqueue a message for topic '\(message.topic)': \(String(cString: rd_kafka_error_string(error)))",
                        isRetriable: RdKafka.isRetriable(err), kafkaErrorName: RdKafka.name(err))
    }

    /// Creates a topic; returns false when it already existed. Blocks (call off the cooperative pool).
    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws -> Bool {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(name, Int32(partitions), Int32(replicationFactor), &errstr, errstr.count) else {
            throw BusError(.topicCreation, "topic '\(name)': \(String(cString: errstr))", isRetriable: false)
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, 15_000, &errstr, errstr.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, 20_000, &errstr, errstr.count)
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(rk, &topics, 1, options, queue)
        guard let event = rd_kafka_queue_poll(queue, 30_000) else {
            throw BusError(.topicCreation, "topic '\(name)': no answer to CreateTopics within 30 s", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? RdKafka.describe(err)
            throw BusError(.topicCreation, "topic '\(name)': \(text)", isRetriable: RdKafka.isRetriable(err), kafkaErrorName: RdKafka.name(err))
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw BusError(.topicCreation, "topic '\(name)': unexpected admin result", isRetriable: true)
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count), count > 0 else {
            throw BusError(.topicCreation, "topic '\(name)': empty CreateTopics result", isRetriable: true)
        }
        let topicErr = rd_kafka_topic_result_error(results[0])
        if topicErr == RD_KAFKA_RESP_ERR_NO_ERROR { return true }
        if topicErr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { return false }
        let text = rd_kafka_topic_result_error_string(results[0]).map { String(cString: $0) } ?? RdKafka.describe(topicErr)
        throw BusError(.topicCreation, "topic '\(name)': \(text)", isRetriable: RdKafka.isRetriable(topicErr), kafkaErrorName: RdKafka.name(topicErr))
    }

    struct TopicMetadata {
        var partitions: Int
        var leadersKnown: Bool
    }

    /// A topic's partitions from the cluster metadata, or nil when the topic does not exist. Asks
    /// for all topics: a request naming the topic could auto-create it on some brokers.
    func metadata(of topic: String, timeoutMs: Int32) throws -> TopicMetadata? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(rk, 1, nil, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw RdKafka.error(.metadata, err, "could not read cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[i]
            guard String(cString: entry.topic) == topic else { continue }
            if entry.partition_cnt == 0 { return nil }
            let leadersKnown = (0..<Int(entry.partition_cnt)).allSatisfy { entry.partitions[$0].leader >= 0 }
            return TopicMetadata(partitions: Int(entry.partition_cnt), leadersKnown: leadersKnown)
        }
        return nil
    }
}

extension KafkaProducerClient {
    /// Reads a group's committed offsets and the high watermarks with a short-lived consumer
    /// client that never joins the group (it does not subscribe). Blocks.
    static func lag(settings: [(String, String)], logger: Logger, topic: String, partitions: Int) throws -> [PartitionLag] {
        let context = RdKafkaContext(logger: logger)
        let rk = try RdKafka.makeClient(RD_KAFKA_CONSUMER, conf: try RdKafka.makeConf(settings, context: context))
        defer { rd_kafka_destroy(rk) }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(list, topic, Int32(partition))
        }
        let err = rd_kafka_committed(rk, list, 10_000)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw RdKafka.error(.metadata, err, "could not read committed offsets of topic '\(topic)'")
        }
        return try (0..<Int(list.pointee.cnt)).map { i in
            let element = list.pointee.elems[i]
            var low: Int64 = 0, high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(rk, topic, element.partition, &low, &high, 5_000)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RdKafka.error(.metadata, err, "could not read the end of \(topic)[\(element.partition)]")
            }
            // A negative offset means the group has not committed on this partition.
            let committed: Int64? = element.offset >= 0 ? element.offset : nil
            return PartitionLag(topicPartition: TopicPartition(topic: topic, partition: element.partition),
                                committed: committed, endOffset: high, lag: max(0, high - (committed ?? low)))
        }
    }
}

/// An `rd_kafka_t` pointer handed to the poll thread; librdkafka's handles are thread-safe.
struct UncheckedHandle: @unchecked Sendable {
    let rk: OpaquePointer
}

func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
