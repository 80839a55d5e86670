import Events

/// An event decoded from a bus message, with the message it came from (topic, partition, offset).
public struct DecodedEvent<P: EventPayload>: Sendable {
    public var envelope: EventEnvelope<P>
    public var message: BusMessage

    public init(envelope: EventEnvelope<P>, message: BusMessage) {
        self.envelope = envelope
        self.message = message
    }
}
