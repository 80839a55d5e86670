import Bus
import Events
import Logging
import ServiceLifecycle

/// Runs an ``EventProcessor`` as a member of a service group. Graceful shutdown (SIGTERM) stops
/// polling; the batch in hand is finished and committed, the consumer leaves its group, and the
/// producer's queue is flushed before the service returns.
public struct EventProcessorService<P: EventPayload>: Service {
    public let processor: EventProcessor<P>
    public let bus: KafkaBus?

    /// - Parameter bus: flushed on the way out when it is a ``KafkaBus``.
    public init(processor: EventProcessor<P>, flushing bus: KafkaBus? = nil) {
        self.processor = processor
        self.bus = bus
    }

    public func run() async throws {
        // EventProcessor treats task cancellation as "finish the batch in hand, commit, return".
        try await cancelWhenGracefulShutdown {
            try await processor.run()
        }
        if let bus {
            _ = await bus.flush(timeout: .seconds(10))
        }
    }
}
