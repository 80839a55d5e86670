import Foundation
import Testing
import Events
import EventsTesting

/// Garbage in never crashes the codec and always comes out as a typed error.
@Suite struct FuzzTests {
    /// A small deterministic generator (SplitMix64) so a failure reproduces.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Decoding either succeeds (only for intact events) or throws ``EventDecodingError``.
    static func decodeAnyType(_ bytes: [UInt8], codec: EventCodec) -> Result<Void, EventDecodingError>? {
        do {
            let header = try codec.decodeHeader(bytes)
            let type = EventRegistry.all.first { $0.eventType == header.type && $0.schemaVersion == header.schemaVersion }!
            try type.decodeEvent(bytes, codec: codec)
            return .success(())
        } catch let error as EventDecodingError {
            return .failure(error)
        } catch {
            return nil // an untyped error
        }
    }

    @Test func randomBytesAreRejectedWithATypedError() {
        var rng = SplitMix64(state: 20261130)
        let codec = EventCodec(maxEventBytes: 4096)
        var codes: [EventDecodingError.Code: Int] = [:]
        for _ in 0..<3000 {
            let count = Int.random(in: 0...300, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            switch Self.decodeAnyType(bytes, codec: codec) {
            case .failure(let error)?: codes[error.code, default: 0] += 1
            case .success?: Issue.record("random bytes decoded as an event: \(bytes)")
            case nil: Issue.record("untyped error for \(bytes)")
            }
        }
        #expect(codes[.malformedJSON, default: 0] == 3000)
    }

    @Test(arguments: SchemaDriftTests.eventTypes)
    func everyTruncationIsRejected(_ name: String) throws {
        let type = SchemaDriftTests.registered(name) as! any SampledPayload.Type
        let bytes = try type.encodedSample(EventCodec())
        let codec = EventCodec()
        for end in 0..<bytes.count {
            let result = Self.decodeAnyType(Array(bytes[..<end]), codec: codec)
            guard case .failure? = result else {
                Issue.record("truncation to \(end) of \(bytes.count) bytes: \(String(describing: result))")
                return
            }
        }
        guard case .success? = Self.decodeAnyType(bytes, codec: codec) else {
            Issue.record("the intact event does not decode")
            return
        }
    }

    /// Valid JSON with random edits: flipped bytes keep most of the structure, so these reach the
    /// envelope and payload checks rather than stopping at the JSON parser.
    @Test func mutatedEventsNeverCrash() throws {
        var rng = SplitMix64(state: 7)
        let codec = EventCodec()
        var seeds: [[UInt8]] = []
        for type in EventRegistry.all {
            seeds.append(try (type as! any SampledPayload.Type).encodedSample(codec))
        }
        let replacements = Array(#"{}[]":,0123456789-.eE+ntrufalsx\"#.utf8)
        var outcomes: [String: Int] = [:]
        for round in 0..<4000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] = replacements.randomElement(using: &rng)!
            }
            // The codec's one-parse fast path must accept nothing the header checks reject.
            let seedType = EventRegistry.all[round % seeds.count]
            if (try? seedType.decodeEvent(bytes, codec: codec)) != nil, (try? codec.decodeHeader(bytes)) == nil {
                Issue.record("decode accepted what decodeHeader rejects: \(String(decoding: bytes, as: UTF8.self))")
            }
            switch Self.decodeAnyType(bytes, codec: codec) {
            case .success?: outcomes["decoded", default: 0] += 1
            case .failure(let error)?: outcomes[error.code.rawValue, default: 0] += 1
            case nil: Issue.record("untyped error for \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        // Edits must reach past the JSON parser for the test to mean anything.
        #expect(outcomes["decoded", default: 0] > 50, "\(outcomes)")
        #expect(outcomes["invalidPayload", default: 0] > 50, "\(outcomes)")
        #expect(outcomes["malformedJSON", default: 0] > 50, "\(outcomes)")
    }

    @Test func deeplyNestedJSONIsRejected() {
        let codec = EventCodec()
        for depth in [1_000, 100_000] {
            let bytes = Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8)
            guard case .failure(let error)? = Self.decodeAnyType(bytes, codec: codec) else {
                Issue.record("nesting \(depth) deep was not rejected with a typed error")
                continue
            }
            #expect(error.code == .malformedJSON || error.code == .oversized)
            let payload = Array(#"{"event_id":"5C0A4A9E-3C1B-4B7A-9A52-2D4F4E0C8B11","type":"query_submitted","schema_version":1,"produced_at":"2026-11-30T10:00:00Z","producer":"x","payload":{"query_id":"#.utf8)
                + Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8) + Array("}}".utf8)
            #expect(Self.decodeAnyType(payload, codec: EventCodec(maxEventBytes: 1 << 22)).map { _ in () } != nil)
        }
    }
}
