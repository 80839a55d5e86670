import Bus
import Resilience

/// Which topics exist. The critic asks before it sends a reply, because the broker creates a topic
/// that a producer names (Tansu does, as does Kafka with `auto.create.topics.enable`): a reply to
/// a mistyped topic would otherwise vanish into a new topic nobody reads. The metadata request
/// behind ``MessageBus/partitionCount(of:)`` lists all topics and creates none.
///
/// A topic seen once is remembered; a missing one is asked about again on its next use, since it
/// may have been created in between.
public final class TopicDirectory: Sendable {
    private let bus: any MessageBus
    private let known: Locked<Set<String>>
    private let deadLetterTopics = Locked(Set<String>())

    /// - Parameter known: topics that exist already (the runtime created them at start).
    public init(bus: any MessageBus, known: [String] = []) {
        self.bus = bus
        self.known = Locked(Set(known))
    }

    /// The topics among `topics` that do not exist.
    public func missing(among topics: Set<String>) async throws -> Set<String> {
        var missing = Set<String>()
        for topic in topics.sorted() where !known.current.contains(topic) {
            if try await bus.partitionCount(of: topic) != nil {
                known.withLock { _ = $0.insert(topic) }
            } else {
                missing.insert(topic)
            }
        }
        return missing
    }

    /// Creates a dead-letter topic (one partition, like the event processor's) the first time it
    /// is used.
    func ensureDeadLetterTopic(_ topic: String) async throws {
        guard !deadLetterTopics.current.contains(topic) else { return }
        try await bus.createTopic(topic, partitions: 1)
        deadLetterTopics.withLock { _ = $0.insert(topic) }
    }
}
