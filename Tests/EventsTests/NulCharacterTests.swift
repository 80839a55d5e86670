import Foundation
import Testing
import Events

/// The events contract on NUL characters: no string in an event holds U+0000.
@Suite struct NulCharacterTests {
    let codec = EventCodec()

    func query(_ question: String) -> EventEnvelope<QuerySubmitted> {
        EventEnvelope(payload: QuerySubmitted(queryID: "q-nul", profile: UserProfile(profileID: "p", statedPreference: "I value my privacy."),
                                              question: question, topic: "Personal Safety"),
                      producer: "nul-test")
    }

    @Test("a producer cannot encode an event whose text holds a NUL")
    func encodingRejectsNul() {
        let error = #expect(throws: EventDecodingError.self) { try codec.encode(query("where\u{0}is it")) }
        #expect(error?.code == .invalidPayload)
        #expect(error?.reason.contains("NUL character (U+0000)") == true)
    }

    @Test("a consumer rejects a NUL escape as an invalid payload, with the reason")
    func decodingRejectsNulEscape() throws {
        var json = String(decoding: try codec.encode(query("where PLACEHOLDER is it")), as: UTF8.self)
        json = json.replacingOccurrences(of: "PLACEHOLDER", with: "\\u0000")
        let error = #expect(throws: EventDecodingError.self) { try codec.decode(Array(json.utf8), as: QuerySubmitted.self) }
        #expect(error?.code == .invalidPayload)
        #expect(error?.reason.contains("U+0000") == true)
    }

    @Test("an escaped backslash before u0000 is text, not a NUL, and round-trips")
    func escapedBackslashIsText() throws {
        let text = "path C:\\u0000\\ and \\\\u0000"
        let envelope = query(text)
        let decoded = try codec.decode(try codec.encode(envelope), as: QuerySubmitted.self)
        #expect(decoded.payload.question == text)
        #expect(EventCodec.nulCharacterProblem(Array(#"{"a":"\\u0000"}"#.utf8)) == nil)
        #expect(EventCodec.nulCharacterProblem(Array(#"{"a":"\\\u0000"}"#.utf8)) != nil)
        // A raw 0 byte is not JSON at all: the codec's JSON check reports it.
        #expect(throws: EventDecodingError.self) { try codec.decodeHeader([0x7B, 0x00, 0x7D]) }
    }
}
