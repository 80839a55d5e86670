import Events
import Foundation
import Logging
import Resilience

/// The consume loop every service runs: poll a batch, decode, dead-letter poison messages, hand the
/// valid events to the handler, and commit the batch's offsets only after all of that succeeded.
///
/// Delivery is at-least-once: a batch whose offsets were not committed (crash, rebalance, shutdown
/// during retries) is delivered again, so handlers must be idempotent by event id.
///
/// - A message that fails to decode (any ``EventDecodingError``) is published to `<topic>.dlq` as a
///   ``DeadLetter``, acknowledged by the broker before the commit.
/// - A handler error that is a ``RetriableError`` with `isRetriable` true repeats the whole batch
///   with exponential backoff. Any other error makes the processor call the handler one event at a
///   time, and only the events that still fail are dead-lettered (code `handlerFailed`).
/// - Cancelling the task running ``run()`` finishes the batch in hand, commits it, leaves the group
///   and returns. If the batch is still being retried, it is left uncommitted instead.
public final class EventProcessor<P: EventPayload>: @unchecked Sendable {
    public let topic: String
    public let group: String
    public let configuration: EventProcessorConfiguration
    private let bus: any MessageBus
    private let logger: Logger
    private let handler: @Sendable ([DecodedEvent<P>]) async throws -> Void
    private let counters = Locked(EventProcessorMetrics())
    private let stopRequested = Locked(false)
    private let deadLetterTopicReady = Locked(false)

    public init(bus: any MessageBus, topic: String, group: String,
                configuration: EventProcessorConfiguration = EventProcessorConfiguration(), logger: Logger,
                handler: @escaping @Sendable ([DecodedEvent<P>]) async throws -> Void) {
        self.bus = bus
        self.topic = topic
        self.group = group
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "topic"] = "\(topic)"
        logger[metadataKey: "group"] = "\(group)"
        self.logger = logger
        self.handler = handler
    }

    /// A snapshot of the counters.
    public var metrics: EventProcessorMetrics {
        counters.current
    }

    /// Where undecodable or rejected messages go.
    public var deadLetterTopic: String {
        DeadLetter.topic(for: topic)
    }

    /// Consumes until the task is cancelled (then returns normally) or an error that retrying cannot
    /// fix is thrown: a closed or failed consumer, exhausted ``EventProcessorConfiguration/maxRetries``,
    /// or a dead letter that could not be published. Nothing of the failing batch is committed.
    /// Call it once at a time per processor.
    public func run() async throws {
        stopRequested.withLock { $0 = false }
        if let partitions = configuration.topicPartitions {
            try await bus.createTopic(topic, partitions: partitions)
        }
        let consumer = try bus.makeConsumer(topics: [topic], group: group)
        var started: Logger.Metadata = [
            "event_type": "\(P.eventType)", "schema_version": "\(P.schemaVersion)",
            "max_batch": "\(configuration.maxBatch)"]
        if let window = configuration.maxWait { started["max_wait_ms"] = "\(window.roundedUpMilliseconds)" }
        logger.info("event processor started", metadata: started)
        do {
            while !Task.isCancelled {
                var polled = try await consumer.poll(maxMessages: configuration.maxBatch, timeout: configuration.pollTimeout)
                if polled.isEmpty { continue }
                if let window = configuration.maxWait {
                    polled += try await fill(from: consumer, holding: polled.count, for: window)
                }
                let batch = polled
                let committed = try await finishingDespiteCancellation {
                    try await self.process(batch, consumer: consumer)
                }
                if !committed { break }
            }
        } catch {
            logger.error("event processor stopped by an error", metadata: ["error": "\(error)"])
            await consumer.close()
            throw error
        }
        await consumer.close()
        logger.info("event processor stopped", metadata: ["processed": "\(metrics.processed)"])
    }

    /// Polls for more messages until the batch holds `maxBatch` or `window` has passed since its
    /// first message; stops early on cancellation (the batch in hand is then processed as it is).
    private func fill(from consumer: any MessageConsumer, holding count: Int, for window: Duration) async throws -> [BusMessage] {
        let deadline = ContinuousClock.now + window
        var more: [BusMessage] = []
        while count + more.count < configuration.maxBatch, !Task.isCancelled {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            more += try await consumer.poll(maxMessages: configuration.maxBatch - count - more.count, timeout: left)
        }
        return more
    }

    // MARK: - One batch

    /// Runs `body` in a task that does not inherit cancellation, so the batch in hand (handler
    /// calls and database writes included) completes; cancellation only stops retry loops.
    private func finishingDespiteCancellation(_ body: @escaping @Sendable () async throws -> Bool) async throws -> Bool {
        let work = Task { try await body() }
        return try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            self.stopRequested.withLock { $0 = true }
        }
    }

    /// Handles and commits one batch; false when it was abandoned uncommitted because of shutdown.
    private func process(_ batch: [BusMessage], consumer: any MessageConsumer) async throws -> Bool {
        var events: [DecodedEvent<P>] = []
        var deadLetters: [DeadLetter] = []
        events.reserveCapacity(batch.count)
        for (message, decoded) in zip(batch, await decodeAll(batch)) {
            switch decoded {
            case .success(let envelope):
                events.append(DecodedEvent(envelope: envelope, message: message))
            case .failure(let error):
                deadLetters.append(deadLetter(message, reason: error.reason, code: error.code.rawValue))
            }
        }

        var handled = 0
        if !events.isEmpty {
            switch try await handleRetrying(events) {
            case .handled:
                handled = events.count
            case .abandoned:
                return false
            case .rejected(let error) where events.count == 1:
                deadLetters.append(deadLetter(events[0].message, reason: "\(error)", code: DeadLetter.handlerFailedCode))
            case .rejected(let error):
                logger.warning("handler rejected a batch; handling its events one at a time", metadata: [
                    "events": "\(events.count)", "error": "\(error)"])
                for event in events {
                    switch try await handleRetrying([event]) {
                    case .handled: handled += 1
                    case .abandoned: return false
                    case .rejected(let error):
                        deadLetters.append(deadLetter(event.message, reason: "\(error)", code: DeadLetter.handlerFailedCode))
                    }
                }
            }
        }

        if !deadLetters.isEmpty {
            guard try await publish(deadLetters) else { return false }
        }
        counters.withLock {
            $0.processed += handled
            $0.deadLettered += deadLetters.count
        }

        do {
            try await consumer.commit(batch)
            counters.withLock { $0.batches += 1 }
        } catch let error as BusError where error.code == .closed {
            throw error
        } catch {
            // Usually a rebalance: the partitions now belong to another member, which will receive
            // these messages again. Handlers are idempotent, so that costs only duplicate work.
            counters.withLock { $0.commitFailures += 1 }
            logger.warning("offsets not committed; the batch will be delivered again", metadata: ["error": "\(error)"])
        }
        return true
    }

    /// Decodes every message, in order. JSON decoding is the processor's main cost, so a large batch
    /// is split over the cores.
    private func decodeAll(_ batch: [BusMessage]) async -> [Result<EventEnvelope<P>, EventDecodingError>] {
        let codec = configuration.codec
        @Sendable func decode(_ slice: ArraySlice<BusMessage>) -> [Result<EventEnvelope<P>, EventDecodingError>] {
            slice.map { message in
                do {
                    return .success(try codec.decode(message.value, as: P.self))
                } catch let error as EventDecodingError {
                    return .failure(error)
                } catch {
                    return .failure(EventDecodingError(.invalidPayload, "\(error)"))
                }
            }
        }
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, batch.count / 64)
        guard workers > 1 else { return decode(batch[...]) }
        let chunk = (batch.count + workers - 1) / workers
        return await withTaskGroup(of: (Int, [Result<EventEnvelope<P>, EventDecodingError>]).self) { group in
            for start in stride(from: 0, to: batch.count, by: chunk) {
                let slice = batch[start..<min(start + chunk, batch.count)]
                group.addTask { (start, decode(slice)) }
            }
            var parts: [(Int, [Result<EventEnvelope<P>, EventDecodingError>])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    private func deadLetter(_ message: BusMessage, reason: String, code: String) -> DeadLetter {
        logger.warning("dead-lettering a message", metadata: [
            "partition": "\(message.partition)", "offset": "\(message.offset)", "code": "\(code)", "reason": "\(reason.prefix(300))"])
        return DeadLetter(message: message, reason: reason, code: code, consumerGroup: group,
                          maxValueBytes: configuration.deadLetterMaxValueBytes)
    }

    // MARK: - Retries

    private enum HandlerOutcome {
        case handled
        case rejected(any Error)
        case abandoned
    }

    private func handleRetrying(_ events: [DecodedEvent<P>]) async throws -> HandlerOutcome {
        do {
            let completed = try await retrying("handler") { try await self.handler(events) }
            return completed ? .handled : .abandoned
        } catch let rejection as Rejection {
            return .rejected(rejection.error)
        }
    }

    /// Publishes dead letters (creating the DLQ topic once); false when abandoned by shutdown.
    private func publish(_ deadLetters: [DeadLetter]) async throws -> Bool {
        let topic = deadLetterTopic
        let messages = try deadLetters.map { letter in
            OutgoingMessage(topic: topic, key: letter.originalKey, value: try letter.encoded())
        }
        let sent = try await retrying("dead-letter publish") {
            if !self.deadLetterTopicReady.current {
                try await self.bus.createTopic(topic, partitions: self.configuration.deadLetterPartitions)
                self.deadLetterTopicReady.withLock { $0 = true }
            }
            try await self.bus.send(messages)
        }
        return sent
    }

    /// A non-retriable error from the handler, to be dead-lettered rather than thrown.
    private struct Rejection: Error {
        var error: any Error
    }

    /// Runs `operation` until it succeeds, retrying retriable errors with backoff. Returns false when
    /// shutdown was requested during a backoff. A non-retriable handler error is thrown as
    /// ``Rejection``; other non-retriable errors and exhausted retries are thrown as they are.
    private func retrying(_ what: String, _ operation: @Sendable () async throws -> Void) async throws -> Bool {
        var attempt = 0
        while true {
            do {
                try await operation()
                return true
            } catch is CancellationError {
                return false
            } catch {
                guard (error as? any RetriableError)?.isRetriable == true else {
                    if what == "handler" { throw Rejection(error: error) }
                    throw error
                }
                attempt += 1
                if let maxRetries = configuration.maxRetries, attempt > maxRetries {
                    logger.error("\(what) still failing after \(maxRetries) retries; giving up", metadata: ["error": "\(error)"])
                    throw error
                }
                let delay = configuration.backoff.delay(attempt: attempt)
                counters.withLock { $0.retries += 1 }
                logger.warning("\(what) failed with a retriable error; retrying", metadata: [
                    "attempt": "\(attempt)", "delay_ms": "\(delay.roundedUpMilliseconds)", "error": "\(error)"])
                if !(await sleepUnlessStopped(delay)) {
                    logger.notice("shutdown requested during retries; leaving the batch uncommitted")
                    return false
                }
            }
        }
    }

    /// Sleeps in short slices so a shutdown request is noticed; false when one came.
    private func sleepUnlessStopped(_ duration: Duration) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if stopRequested.current { return false }
            let slice = min(.milliseconds(50), deadline - ContinuousClock.now)
            try? await Task.sleep(for: slice)
        }
        return !stopRequested.current
    }
}
