import Events
import EventsTesting
import Foundation

/// The sample of a registered type, or nil when the test target has none for it.
func sampleOf(_ type: any EventPayload.Type) -> (any EventPayload)? {
    (type as? any SampledPayload.Type)?.sample
}

// Generic test helpers reached through an existential metatype (`any SampledPayload.Type`).
extension SampledPayload {
    static func payloadDriftProblems() throws -> [String] { try SchemaDriftTests.payloadProblems(Self.self) }
    static func envelopeDriftProblems() throws -> [String] { try SchemaDriftTests.envelopeProblems(Self.self) }
    static func checkSchemaMetadata() throws { try SchemaDriftTests.checkMetadata(Self.self) }
    static func checkCodecRoundTrip(_ codec: EventCodec) throws { try EventCodecTests.roundTrip(Self.self, codec: codec) }
    static func encodedSample(_ codec: EventCodec) throws -> [UInt8] {
        try codec.encode(EventEnvelope(payload: sample, producer: "events-test"))
    }
}

extension EventPayload {
    static func decodeEvent(_ bytes: [UInt8], codec: EventCodec) throws {
        _ = try codec.decode(bytes, as: Self.self)
    }
}
