import Bus
import Events
import EventsTesting
import Foundation
import Testing

/// Every registered event type, through the real broker and back.
@Suite("every event type through Kafka")
struct EventRoundTripEndToEndTests {
    @Test("each registered event type round-trips through the broker and validates against its .avsc")
    func everyEventTypeRoundTripsAndValidates() async throws {
        let context = EndToEndContext()
        let bus = try context.makeBus()
        let topic = "e2e.events.\(context.suffix)"
        try await bus.createTopic(topic, partitions: 3)
        let codec = EventCodec()

        var sent: [String: [UInt8]] = [:]
        var messages: [OutgoingMessage] = []
        for type in EventRegistry.all {
            let sampled = try #require(type as? any SampledPayload.Type, "\(type) has no sample")
            let bytes = try Self.encodeSample(sampled, codec: codec)
            sent[type.eventType] = bytes
            messages.append(OutgoingMessage(topic: topic, key: Array(type.eventType.utf8), value: bytes))
        }
        try await bus.send(messages)

        let consumer = try bus.makeConsumer(topics: [topic], group: "e2e-events-\(context.suffix)")
        var received: [String: [UInt8]] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while received.count < sent.count, ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)) {
                received[try codec.decodeHeader(message.value).type] = message.value
            }
        }
        await consumer.close()

        #expect(Set(received.keys) == Set(sent.keys))
        for type in EventRegistry.all {
            let bytes = try #require(received[type.eventType])
            #expect(bytes == sent[type.eventType], "\(type.eventType) changed on the way")
            try AvroSchemaValidator.validateEvent(bytes: bytes)
            let sampled = try #require(type as? any SampledPayload.Type)
            try Self.decodeAndCompare(sampled, bytes, codec: codec)
        }
    }

    private static func encodeSample<P: SampledPayload>(_ type: P.Type, codec: EventCodec) throws -> [UInt8] {
        try codec.encode(EventEnvelope(payload: P.sample, producer: "e2e-tests", correlationID: "round-trip"))
    }

    private static func decodeAndCompare<P: SampledPayload>(_ type: P.Type, _ bytes: [UInt8], codec: EventCodec) throws {
        let envelope = try codec.decode(bytes, as: P.self)
        #expect(envelope.payload == P.sample)
        #expect(envelope.correlationID == "round-trip")
    }
}
