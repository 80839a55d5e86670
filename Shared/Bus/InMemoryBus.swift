import Foundation
import Resilience

/// The message bus inside one process, with Kafka's semantics where services depend on them:
/// partitions chosen by key hash, per-key order, consumer groups that share partitions, offsets
/// committed per group, and redelivery of everything uncommitted when the group's membership
/// changes (like Kafka's eager rebalance: every member restarts from the committed offsets).
///
/// Sending to a topic that does not exist creates it with ``partitionsPerTopic`` partitions, as a
/// Kafka broker with `auto.create.topics.enable` does.
public final class InMemoryBus: MessageBus, @unchecked Sendable {
    /// Partitions of a topic created implicitly by ``send(_:)`` or ``makeConsumer(topics:group:)``.
    public let partitionsPerTopic: Int

    struct StoredMessage {
        var key: [UInt8]?
        var value: [UInt8]
        var timestamp: Date
    }

    struct Member {
        var topics: [String]
        var generation = -1   // the group generation this member last saw; -1 before its first poll
        var positions: [TopicPartition: Int64] = [:]
    }

    struct Group {
        var generation = 0
        var members: [UInt64: Member] = [:]
        var committed: [TopicPartition: Int64] = [:]
    }

    struct State {
        var topics: [String: [[StoredMessage]]] = [:]
        var groups: [String: Group] = [:]
        var nextMemberID: UInt64 = 0
        var nextUnkeyedPartition: [String: Int] = [:]
    }

    let state = Locked(State())

    public init(partitionsPerTopic: Int = 1) {
        precondition(partitionsPerTopic > 0, "partitionsPerTopic must be positive")
        self.partitionsPerTopic = partitionsPerTopic
    }

    public func createTopic(_ name: String, partitions: Int) async throws {
        guard partitions > 0 else {
            throw BusError(.configuration, "topic '\(name)': partitions must be positive (is \(partitions))", isRetriable: false)
        }
        state.withLock { state in
            if state.topics[name] == nil { state.topics[name] = Array(repeating: [], count: partitions) }
        }
    }

    public func send(_ messages: [OutgoingMessage]) async throws {
        let now = Date()
        state.withLock { state in
            for message in messages {
                if state.topics[message.topic] == nil {
                    state.topics[message.topic] = Array(repeating: [], count: partitionsPerTopic)
                }
                let count = state.topics[message.topic]!.count
                let partition: Int
                if let key = message.key {
                    partition = Int(Self.hash(key) % UInt64(count))
                } else {
                    partition = state.nextUnkeyedPartition[message.topic, default: 0] % count
                    state.nextUnkeyedPartition[message.topic] = partition + 1
                }
                state.topics[message.topic]![partition].append(StoredMessage(key: message.key, value: message.value, timestamp: now))
            }
        }
    }

    public func partitionCount(of topic: String) async throws -> Int? {
        state.withLock { $0.topics[topic]?.count }
    }

    public func makeConsumer(topics: [String], group: String) throws -> any MessageConsumer {
        guard !topics.isEmpty, !group.isEmpty else {
            throw BusError(.configuration, "a consumer needs at least one topic and a group id", isRetriable: false)
        }
        let id = state.withLock { state -> UInt64 in
            state.nextMemberID += 1
            state.groups[group, default: Group()].members[state.nextMemberID] = Member(topics: topics)
            state.groups[group]!.generation += 1
            return state.nextMemberID
        }
        return InMemoryConsumer(bus: self, group: group, memberID: id)
    }

    /// FNV-1a: stable across runs, so a key always lands on the same partition.
    static func hash(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    // MARK: - Group bookkeeping (called with the lock held)

    /// Partitions of the group's topics, dealt round-robin to the members in join order.
    static func assignment(of memberID: UInt64, in group: Group, topics: [String: [[StoredMessage]]]) -> [TopicPartition] {
        let subscribed = Set(group.members.values.flatMap(\.topics)).sorted()
        let partitions = subscribed.flatMap { topic in
            (0..<(topics[topic]?.count ?? 0)).map { TopicPartition(topic: topic, partition: Int32($0)) }
        }
        let members = group.members.keys.sorted()
        guard let index = members.firstIndex(of: memberID) else { return [] }
        return partitions.enumerated().filter { $0.offset % members.count == index }.map(\.element)
            .filter { group.members[memberID]!.topics.contains($0.topic) }
    }

    /// Brings a member up to date with the group, then takes up to `max` messages from its positions.
    func take(memberID: UInt64, group groupName: String, max: Int) -> [BusMessage]? {
        state.withLock { state in
            guard var group = state.groups[groupName], var member = group.members[memberID] else { return nil }
            let assigned = Self.assignment(of: memberID, in: group, topics: state.topics)
            if member.generation != group.generation {
                // A rebalance: start every assigned partition again from the committed offset.
                member.generation = group.generation
                member.positions = Dictionary(uniqueKeysWithValues: assigned.map { ($0, group.committed[$0] ?? 0) })
            } else if Set(member.positions.keys) != Set(assigned) {
                // Same members, but a subscribed topic appeared.
                for tp in assigned where member.positions[tp] == nil { member.positions[tp] = group.committed[tp] ?? 0 }
            }
            var batch: [BusMessage] = []
            for tp in assigned where batch.count < max {
                let log = state.topics[tp.topic]![Int(tp.partition)]
                var position = member.positions[tp]!
                while position < Int64(log.count), batch.count < max {
                    let stored = log[Int(position)]
                    batch.append(BusMessage(topic: tp.topic, partition: tp.partition, offset: position,
                                            key: stored.key, value: stored.value, timestamp: stored.timestamp))
                    position += 1
                }
                member.positions[tp] = position
            }
            group.members[memberID] = member
            state.groups[groupName] = group
            return batch
        }
    }

    func commit(memberID: UInt64, group groupName: String, offsets: [TopicPartition: Int64]) throws {
        try state.withLock { state in
            guard var group = state.groups[groupName], let member = group.members[memberID] else {
                throw BusError(.closed, "consumer of group '\(groupName)' is closed", isRetriable: false)
            }
            // Like Kafka: a member that has not caught up with a rebalance, or commits a partition
            // it does not own, is refused; the messages go to the partition's owner again.
            let assigned = Set(Self.assignment(of: memberID, in: group, topics: state.topics))
            guard member.generation == group.generation, offsets.keys.allSatisfy(assigned.contains) else {
                throw BusError(.commitFailed, "group '\(groupName)' rebalanced; these partitions were reassigned",
                               isRetriable: true, kafkaErrorName: "ILLEGAL_GENERATION")
            }
            for (tp, offset) in offsets { group.committed[tp] = offset }
            state.groups[groupName] = group
        }
    }

    func assignment(memberID: UInt64, group groupName: String) throws -> [TopicPartition] {
        try state.withLock { state in
            guard let group = state.groups[groupName], group.members[memberID] != nil else {
                throw BusError(.closed, "consumer of group '\(groupName)' is closed", isRetriable: false)
            }
            return Self.assignment(of: memberID, in: group, topics: state.topics)
        }
    }

    func leave(memberID: UInt64, group groupName: String) {
        state.withLock { state in
            guard state.groups[groupName]?.members.removeValue(forKey: memberID) != nil else { return }
            state.groups[groupName]!.generation += 1
        }
    }

    public func consumerLag(group: String, topic: String) async throws -> [PartitionLag] {
        state.withLock { state in
            guard let partitions = state.topics[topic] else { return [] }
            let committed = state.groups[group]?.committed ?? [:]
            return partitions.enumerated().map { index, log in
                let tp = TopicPartition(topic: topic, partition: Int32(index))
                let end = Int64(log.count)
                return PartitionLag(topicPartition: tp, committed: committed[tp], endOffset: end, lag: end - (committed[tp] ?? 0))
            }
        }
    }

    /// The offsets a group has committed, for tests and status tools.
    public func committedOffsets(group: String) -> [TopicPartition: Int64] {
        state.withLock { $0.groups[group]?.committed ?? [:] }
    }
}

/// A member of an ``InMemoryBus`` consumer group.
final class InMemoryConsumer: MessageConsumer, @unchecked Sendable {
    private let bus: InMemoryBus
    private let group: String
    private let memberID: UInt64

    init(bus: InMemoryBus, group: String, memberID: UInt64) {
        self.bus = bus
        self.group = group
        self.memberID = memberID
    }

    deinit {
        bus.leave(memberID: memberID, group: group)
    }

    func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        precondition(maxMessages > 0, "maxMessages must be positive")
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let batch = bus.take(memberID: memberID, group: group, max: maxMessages) else {
                throw BusError(.closed, "consumer of group '\(group)' is closed", isRetriable: false)
            }
            if !batch.isEmpty || ContinuousClock.now >= deadline { return batch }
            do {
                try await Task.sleep(for: .milliseconds(2))
            } catch {
                return []   // cancelled: an empty batch, like a poll that timed out
            }
        }
    }

    func commit(_ messages: [BusMessage]) async throws {
        var next: [TopicPartition: Int64] = [:]
        for message in messages {
            next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1)
        }
        guard !next.isEmpty else { return }
        try bus.commit(memberID: memberID, group: group, offsets: next)
    }

    func assignment() async throws -> [TopicPartition] {
        try bus.assignment(memberID: memberID, group: group)
    }

    func close() async {
        bus.leave(memberID: memberID, group: group)
    }
}
