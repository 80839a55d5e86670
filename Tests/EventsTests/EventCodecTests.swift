import Foundation
import Testing
import Events
import EventsTesting

@Suite struct EventCodecTests {
    let codec = EventCodec()

    // MARK: - Helpers

    static func roundTrip<P: SampledPayload>(_ type: P.Type, codec: EventCodec) throws {
        let envelope = EventEnvelope(payload: P.sample, producer: "codec-test", correlationID: "corr-9",
                                     producedAt: Date(timeIntervalSince1970: 1_764_500_000.125))
        let bytes = try codec.encode(envelope)
        let header = try codec.decodeHeader(bytes)
        #expect(header.eventID == envelope.eventID)
        #expect(header.type == P.eventType)
        #expect(header.schemaVersion == P.schemaVersion)
        #expect(header.correlationID == "corr-9")
        let decoded = try codec.decode(bytes, as: P.self)
        #expect(decoded == envelope)
        // Encoding is deterministic (sorted keys), so a second trip gives the same bytes.
        #expect(try codec.encode(decoded) == bytes)
    }

    /// An encoded sample event as a mutable JSON object.
    func sampleObject() throws -> [String: Any] {
        let bytes = try codec.encode(EventEnvelope(payload: CritiqueProduced.sample, producer: "codec-test"))
        return try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
    }

    func bytes(_ object: [String: Any]) throws -> [UInt8] {
        [UInt8](try JSONSerialization.data(withJSONObject: object))
    }

    func expectCode(_ code: EventDecodingError.Code, _ bytes: [UInt8], mentioning text: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try codec.decode(bytes, as: CritiqueProduced.self)
            Issue.record("decoded, expected \(code)", sourceLocation: sourceLocation)
        } catch let error as EventDecodingError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(!error.isRetriable, sourceLocation: sourceLocation)
            if let text {
                #expect(error.reason.contains(text), "reason '\(error.reason)' does not mention '\(text)'",
                        sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Round trips

    @Test(arguments: SchemaDriftTests.eventTypes)
    func everyEventTypeRoundTrips(_ name: String) throws {
        try (SchemaDriftTests.registered(name) as! any SampledPayload.Type).checkCodecRoundTrip(codec)
    }

    @Test func optionalFieldsAbsentRoundTrip() throws {
        let sparse = CritiqueProduced(requestID: "r", responseID: "s", status: .failed, error: "endpoint timed out")
        let bytes = try codec.encode(EventEnvelope(payload: sparse, producer: "codec-test"))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("final_score") && !text.contains("correlation_id"))
        #expect(try codec.decode(bytes, as: CritiqueProduced.self).payload == sparse)
        try AvroSchemaValidator.validateEvent(bytes: bytes)
    }

    @Test func defaultedFieldsMayBeAbsent() throws {
        var object = try sampleObject()
        var payload = object["payload"] as! [String: Any]
        payload["status"] = "failed"
        payload["error"] = "no reply"
        payload.removeValue(forKey: "final_score")
        payload.removeValue(forKey: "step_verdicts")
        payload.removeValue(forKey: "critique_text")
        object["payload"] = payload
        let decoded = try codec.decode(bytes(object), as: CritiqueProduced.self).payload
        #expect(decoded.stepVerdicts.isEmpty)
        #expect(decoded.critiqueText == "")
    }

    @Test func partitionKeysFollowTheDocumentedChoice() {
        #expect(QuerySubmitted.sample.partitionKey == "q-0042")
        #expect(AnnotationProduced.sample.partitionKey == "q-0042")
        #expect(CritiqueRequested.sample.partitionKey == "req-7")
        #expect(CritiqueProduced.sample.partitionKey == "req-7")
        #expect(CheckpointPublished.sample.partitionKey == "run-cdpa-seed1")
        #expect(EvaluationPublished.sample.partitionKey == "ckpt-policy-120")
    }

    // MARK: - Rejections

    @Test func rejectsUnknownType() throws {
        var object = try sampleObject()
        object["type"] = "critique_scored_by_magic"
        expectCode(.unknownType, try bytes(object), mentioning: "critique_scored_by_magic")
    }

    @Test func rejectsUnsupportedVersion() throws {
        var object = try sampleObject()
        object["schema_version"] = 2
        expectCode(.unsupportedVersion, try bytes(object), mentioning: "version 2")
    }

    @Test func rejectsAnotherTypeThanAsked() throws {
        let bytes = try codec.encode(EventEnvelope(payload: QuerySubmitted.sample, producer: "codec-test"))
        expectCode(.typeMismatch, bytes, mentioning: "query_submitted")
    }

    @Test func rejectsMissingRequiredPayloadFieldByName() throws {
        var object = try sampleObject()
        var payload = object["payload"] as! [String: Any]
        payload.removeValue(forKey: "response_id")
        object["payload"] = payload
        expectCode(.invalidPayload, try bytes(object), mentioning: "payload.response_id")
    }

    @Test func rejectsMissingNestedFieldByPath() throws {
        var object = try sampleObject()
        var payload = object["payload"] as! [String: Any]
        var verdicts = payload["step_verdicts"] as! [[String: Any]]
        verdicts[1].removeValue(forKey: "score")
        payload["step_verdicts"] = verdicts
        object["payload"] = payload
        expectCode(.invalidPayload, try bytes(object), mentioning: "payload.step_verdicts[1].score")
    }

    @Test(arguments: ["event_id", "type", "schema_version", "produced_at", "producer", "payload"])
    func rejectsMissingEnvelopeField(_ field: String) throws {
        var object = try sampleObject()
        object.removeValue(forKey: field)
        expectCode(.missingEnvelopeField, try bytes(object), mentioning: field)
    }

    @Test func rejectsWrongPayloadType() throws {
        var object = try sampleObject()
        var payload = object["payload"] as! [String: Any]
        payload["attempts"] = "two"
        object["payload"] = payload
        expectCode(.invalidPayload, try bytes(object), mentioning: "payload.attempts")
    }

    @Test func rejectsWrongEnvelopeTypes() throws {
        for (field, value) in [("schema_version", "1" as Any), ("schema_version", true), ("schema_version", 1.5),
                               ("schema_version", 1e300), ("type", 7), ("correlation_id", 42), ("payload", [1, 2])] {
            var object = try sampleObject()
            object[field] = value
            expectCode(.missingEnvelopeField, try bytes(object), mentioning: field)
        }
    }

    @Test func rejectsUnknownEnumSymbol() throws {
        var object = try sampleObject()
        var payload = object["payload"] as! [String: Any]
        payload["status"] = "excellent"
        object["payload"] = payload
        expectCode(.invalidPayload, try bytes(object), mentioning: "payload.status")
    }

    @Test func rejectsBadUUID() throws {
        var object = try sampleObject()
        object["event_id"] = "not-a-uuid"
        expectCode(.missingEnvelopeField, try bytes(object), mentioning: "not a UUID")
    }

    @Test func rejectsBadTimestamp() throws {
        var object = try sampleObject()
        object["produced_at"] = "yesterday"
        expectCode(.missingEnvelopeField, try bytes(object), mentioning: "produced_at")
    }

    @Test func rejectsMalformedJSON() {
        expectCode(.malformedJSON, Array(#"{"event_id": "#.utf8))
        expectCode(.malformedJSON, [])
        expectCode(.malformedJSON, [0xFF, 0xFE, 0x00])
    }

    @Test func rejectsNonObjectJSON() {
        for text in ["[1, 2, 3]", "\"event\"", "42", "null", "true"] {
            expectCode(.malformedJSON, Array(text.utf8), mentioning: "not a JSON object")
        }
    }

    @Test func rejectsOversizedOnDecode() throws {
        let small = EventCodec(maxEventBytes: 256)
        let bytes = try codec.encode(EventEnvelope(payload: CritiqueProduced.sample, producer: "codec-test"))
        #expect(bytes.count > 256)
        #expect(throws: EventDecodingError.self) { try small.decode(bytes, as: CritiqueProduced.self) }
        do {
            _ = try small.decodeHeader(bytes)
            Issue.record("accepted an oversized message")
        } catch let error as EventDecodingError {
            #expect(error.code == .oversized)
            #expect(error.reason.contains("\(bytes.count) bytes"))
        }
        // The limit is inclusive.
        #expect(try EventCodec(maxEventBytes: bytes.count).decode(bytes, as: CritiqueProduced.self).payload == .sample)
    }

    @Test func rejectsOversizedOnEncode() throws {
        var big = CritiqueProduced.sample
        big.critiqueText = String(repeating: "x", count: 2 << 20)
        do {
            _ = try codec.encode(EventEnvelope(payload: big, producer: "codec-test"))
            Issue.record("encoded a 2 MiB event with a 1 MiB limit")
        } catch let error as EventDecodingError {
            #expect(error.code == .oversized)
        }
    }

    // MARK: - Values

    @Test func rejectsScoresOutOfRangeOnEncodeAndDecode() throws {
        var bad = CritiqueProduced.sample
        bad.stepVerdicts[1].score = -1.5
        #expect(bad.validationProblems() == ["step_verdicts[1].score -1.5 is outside [-1, 1]"])
        do {
            _ = try codec.encode(EventEnvelope(payload: bad, producer: "codec-test"))
            Issue.record("encoded a score of -1.5")
        } catch let error as EventDecodingError {
            #expect(error.code == .invalidPayload)
        }
        var object = try sampleObject()
        var payload = object["payload"] as! [String: Any]
        payload["final_score"] = 1.25
        object["payload"] = payload
        expectCode(.invalidPayload, try bytes(object), mentioning: "final_score 1.25 is outside [-1, 1]")
    }

    @Test func validationRulesOfTheNewPayloads() {
        var critique = CritiqueProduced.sample
        critique.finalScore = nil
        #expect(critique.validationProblems() == ["status is ok but final_score is missing"])
        critique = CritiqueProduced(requestID: "r", responseID: "s", status: .malformed, finalScore: 0.5, error: "unparsable")
        #expect(critique.validationProblems() == ["status is malformed but final_score is set"])
        critique = CritiqueProduced(requestID: "", responseID: "s", status: .failed, attempts: 0)
        #expect(Set(critique.validationProblems()) == ["request_id is empty", "attempts 0 is below 1",
                                                      "status is failed but error is missing"])
        critique = CritiqueProduced.sample
        critique.stepVerdicts[1].index = 5
        #expect(critique.validationProblems().count == 1)

        var request = CritiqueRequested.sample
        request.replyTopic = "critic replies!"
        request.deadlineMs = 0
        #expect(request.validationProblems().count == 2)
        request = CritiqueRequested.sample
        request.steps = []
        #expect(request.validationProblems().isEmpty)
        request.answer = ""
        #expect(request.validationProblems() == ["the response has neither steps nor an answer"])

        var checkpoint = CheckpointPublished.sample
        checkpoint.sha256 = String(repeating: "A", count: 64)
        checkpoint.sizeBytes = 0
        checkpoint.step = -1
        #expect(checkpoint.validationProblems().count == 3)
        checkpoint = CheckpointPublished.sample
        checkpoint.modelKind = .prm
        #expect(checkpoint.validationProblems() == ["a prm checkpoint cannot come from cdpa"])
        checkpoint.metrics["loss"] = .nan
        #expect(checkpoint.validationProblems().contains("metrics.loss is not finite"))

        var evaluation = EvaluationPublished.sample
        evaluation.split = "dev"
        evaluation.examples = -3
        evaluation.baselineCheckpointID = ""
        #expect(evaluation.validationProblems().count == 3)

        var query = QuerySubmitted.sample
        query.profile.riskTolerance = "reckless"
        query.split = "holdout"
        #expect(query.validationProblems().count == 2)
    }
}
