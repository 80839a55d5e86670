import Foundation
import Testing
import Events
import EventsTesting

/// Every Swift event type against its `.avsc` file; see ``SchemaConformance`` for the method.
@Suite struct SchemaDriftTests {
    static let eventTypes = EventRegistry.all.map { "\($0.eventType).v\($0.schemaVersion)" }

    static func registered(_ name: String) -> any EventPayload.Type {
        EventRegistry.all.first { "\($0.eventType).v\($0.schemaVersion)" == name }!
    }

    @Test func everyRegisteredTypeHasASampleAndASchemaFile() {
        for type in EventRegistry.all {
            #expect(sampleOf(type) != nil, "no sample for \(type); add one in PayloadSamples.swift")
            let url = AvroSchemaValidator.schemaURL(for: type)
            #expect(FileManager.default.fileExists(atPath: url.path), "missing \(url.path)")
        }
    }

    @Test func everySchemaFileBelongsToARegisteredType() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: AvroSchemaValidator.schemasDirectory.path)
            .filter { $0.hasSuffix(".avsc") && $0 != "envelope.v1.avsc" }
        let expected = Set(EventRegistry.all.map { "\($0.eventType).v\($0.schemaVersion).avsc" })
        #expect(Set(files) == expected)
        #expect(files.count >= 6)
    }

    @Test(arguments: eventTypes)
    func payloadMatchesItsSchema(_ name: String) throws {
        let problems = try (Self.registered(name) as! any SampledPayload.Type).payloadDriftProblems()
        #expect(problems.isEmpty, "\(name):\n\(problems.joined(separator: "\n"))")
    }

    @Test(arguments: eventTypes)
    func envelopeWithPayloadMatchesTheEnvelopeSchema(_ name: String) throws {
        let problems = try (Self.registered(name) as! any SampledPayload.Type).envelopeDriftProblems()
        #expect(problems.isEmpty, "\(name):\n\(problems.joined(separator: "\n"))")
    }

    @Test(arguments: eventTypes)
    func schemaMetadataMatchesTheSwiftType(_ name: String) throws {
        try (Self.registered(name) as! any SampledPayload.Type).checkSchemaMetadata()
    }

    /// The checker itself must catch drift: a Swift type that differs from query_submitted.v1 in
    /// nullability, defaults, a value type, and an extra field.
    @Test func conformanceCheckFindsEveryKindOfDrift() throws {
        struct DriftedQuery: Codable {
            var query_id: String
            var profile: UserProfile
            var question: String
            var topic: String                 // schema: ["null", "string"], default null
            var hidden_preferences: [String]? // schema: array, default [] (not nullable)
            var split: Int?                   // schema: ["null", "string"]; nil so `priority` is reached
            var priority: String              // not in the schema
        }
        let schema = try AvroSchema(contentsOf: AvroSchemaValidator.schemaURL(for: QuerySubmitted.self))
        let sample = DriftedQuery(query_id: "q", profile: QuerySubmitted.sample.profile, question: "?", topic: "Family Care",
                                  hidden_preferences: ["privacy"], split: nil, priority: "high")
        var check = SchemaConformance(schema: schema, sample: sample)
        let problems = check.run()
        let text = problems.joined(separator: "\n")
        #expect(text.contains("field is not in the schema"), "extra field not found:\n\(text)")
        #expect(problems.contains { $0.hasPrefix("'topic': the schema allows null, but Swift rejects it") }, "\(text)")
        #expect(problems.contains { $0.hasPrefix("'hidden_preferences': Swift accepts null") }, "\(text)")
        #expect(problems.contains { $0.hasPrefix("'split': Swift accepts a number") }, "\(text)")
        #expect(problems.contains { $0.hasPrefix("'profile.") } == false, "UserProfile matches: \(text)")
        #expect(problems.contains { $0.contains("sample.split is nil") }, "\(text)")
    }

    @Test func conformanceCheckFindsADefaultThatDiffers() throws {
        // Swift defaults `attempts` to 1 when it is absent; the schema says the field is required.
        struct LenientCritique: Codable {
            var request_id: String
            var attempts: Int
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                request_id = try c.decode(String.self, forKey: .request_id)
                attempts = try c.decodeIfPresent(Int.self, forKey: .attempts) ?? 1
            }
            init() { request_id = "r"; attempts = 2 }
        }
        let schemaJSON = try JSONValue(bytes: Array("""
            {"type": "record", "name": "Lenient", "fields": [
              {"name": "request_id", "type": "string"},
              {"name": "attempts", "type": "int"}]}
            """.utf8))
        var check = SchemaConformance(schema: try AvroSchema(json: schemaJSON), sample: LenientCritique())
        let problems = check.run()
        #expect(problems.contains { $0.hasPrefix("'attempts': Swift decodes without the field") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("'attempts': Swift accepts null") }, "\(problems)")
    }

    /// Swift enums against the Avro enums of the same name: the same symbols in the same order.
    /// The probes prove Swift accepts every schema symbol; this proves Swift has none beyond them.
    @Test func swiftEnumsHaveExactlyTheSchemaSymbols() throws {
        let swiftEnums: [String: [String]] = [
            "cdra.events.CritiqueStatus": CritiqueStatus.allCases.map(\.rawValue),
            "cdra.events.ModelKind": ModelKind.allCases.map(\.rawValue),
            "cdra.events.TrainingAlgorithm": TrainingAlgorithm.allCases.map(\.rawValue),
        ]
        var seen = Set<String>()
        for type in EventRegistry.all {
            let schema = try AvroSchema(contentsOf: AvroSchemaValidator.schemaURL(for: type))
            for case .enumeration(let e) in schema.namedTypes.values {
                seen.insert(e.name)
                #expect(swiftEnums[e.name] == e.symbols, "\(e.name): schema \(e.symbols), Swift \(swiftEnums[e.name] ?? [])")
            }
        }
        #expect(seen == Set(swiftEnums.keys))
    }

    // MARK: - Helpers

    static func payloadProblems<P: SampledPayload>(_ type: P.Type) throws -> [String] {
        #expect(P.sample.validationProblems().isEmpty, "the sample of \(P.self) is invalid: \(P.sample.validationProblems())")
        let schema = try AvroSchema(contentsOf: AvroSchemaValidator.schemaURL(for: P.self))
        var check = SchemaConformance(schema: schema, sample: P.sample, validate: { $0.validationProblems() })
        let problems = check.run()
        #expect(check.probes > 20, "only \(check.probes) probes ran for \(P.self)")
        return problems
    }

    static func envelopeProblems<P: SampledPayload>(_ type: P.Type) throws -> [String] {
        let payloadSchema = try AvroSchema(contentsOf: AvroSchemaValidator.schemaURL(for: P.self))
        let schema = try AvroSchemaValidator.eventSchema(payload: payloadSchema)
        let envelope = EventEnvelope(payload: P.sample, producer: "schema-drift-test", correlationID: "run-1")
        var check = SchemaConformance(schema: schema, sample: envelope, validate: { $0.payload.validationProblems() })
        var problems = check.run()
        // The codec's own bytes validate as a whole event too.
        do {
            try AvroSchemaValidator.validateEvent(bytes: EventCodec().encode(envelope))
        } catch {
            problems.append("encoded event does not validate: \(error)")
        }
        return problems
    }

    static func checkMetadata<P: SampledPayload>(_ type: P.Type) throws {
        let schema = try AvroSchema(contentsOf: AvroSchemaValidator.schemaURL(for: P.self))
        #expect(schema.properties["cdra.event_type"] == .string(P.eventType))
        #expect(schema.properties["cdra.schema_version"] == .integer(Int64(P.schemaVersion)))
        #expect(schema.properties["cdra.topic"] == .string(P.defaultTopic))
        guard case .record(let record) = schema.root else {
            Issue.record("\(P.self): the schema's top level is not a record")
            return
        }
        #expect(record.name == "cdra.events.\(P.self)")
        // The documented key is the field the Swift type keys by.
        guard case .string(let keyPath)? = schema.properties["cdra.key"] else {
            Issue.record("\(P.self): the schema has no cdra.key")
            return
        }
        let json = try SchemaConformance<P>.roundTrip(P.sample)
        let path = keyPath.split(separator: ".").map { JSONPath.Segment.key(String($0)) }
        #expect(JSONPath.value(in: json, at: path) == P.sample.partitionKey.map(JSONValue.string),
                "\(P.self): cdra.key \(keyPath) is not what partitionKey returns")
    }
}
