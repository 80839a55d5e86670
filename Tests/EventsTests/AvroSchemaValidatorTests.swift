import Foundation
import Testing
import Events
import EventsTesting

@Suite struct AvroSchemaValidatorTests {
    static let schemaText = """
        {"type": "record", "name": "Probe", "namespace": "cdra.test", "fields": [
          {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
          {"name": "count", "type": "int"},
          {"name": "total", "type": "long", "default": 0},
          {"name": "ratio", "type": "double"},
          {"name": "flag", "type": "boolean"},
          {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["a", "b"]}},
          {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
          {"name": "scores", "type": {"type": "map", "values": "double"}},
          {"name": "child", "type": ["null", {"type": "record", "name": "Child", "fields": [
              {"name": "note", "type": ["null", "string"], "default": null}]}], "default": null},
          {"name": "children", "type": {"type": "array", "items": "Child"}},
          {"name": "other_kind", "type": ["null", "cdra.test.Kind"], "default": null}
        ]}
        """

    func schema() throws -> AvroSchema {
        try AvroSchema(json: JSONValue(bytes: Array(Self.schemaText.utf8)))
    }

    func valid() -> [String: Any] {
        ["id": "5C0A4A9E-3C1B-4B7A-9A52-2D4F4E0C8B11", "count": 3, "total": 9_000_000_000, "ratio": 0.5,
         "flag": true, "kind": "a", "tags": ["x"], "scores": ["m": 1, "n": 0.25],
         "child": ["note": "hi"], "children": [["note": NSNull()], [:]], "other_kind": "b"]
    }

    func expectMismatch(_ object: [String: Any], at path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        do {
            try AvroSchemaValidator.validate(json: object, schema: try schema())
            Issue.record("accepted; expected a mismatch at \(path)", sourceLocation: sourceLocation)
        } catch let error as AvroSchemaError {
            #expect(error.code == .mismatch, sourceLocation: sourceLocation)
            #expect(error.path == path, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func acceptsAValidValueFromJSONSerialization() throws {
        let data = try JSONSerialization.data(withJSONObject: valid())
        try AvroSchemaValidator.validate(json: try JSONSerialization.jsonObject(with: data), schema: try schema())
        try AvroSchemaValidator.validate(JSONValue(bytes: [UInt8](data)), against: try schema())
    }

    @Test func acceptsAbsentFieldsThatHaveDefaults() throws {
        var object = valid()
        for key in ["total", "tags", "child", "other_kind"] { object.removeValue(forKey: key) }
        try AvroSchemaValidator.validate(json: object, schema: try schema())
    }

    @Test func rejectsEachKindOfMismatchWithItsPath() throws {
        func with(_ key: String, _ value: Any?) -> [String: Any] {
            var o = valid()
            o[key] = value
            return o
        }
        try expectMismatch(with("count", nil), at: "count")                    // required, no default
        try expectMismatch(with("count", 1.5), at: "count")                    // fraction for int
        try expectMismatch(with("count", 3_000_000_000), at: "count")          // beyond 32 bits
        try expectMismatch(with("count", "3"), at: "count")
        try expectMismatch(with("total", true), at: "total")                   // boolean is not a number
        try expectMismatch(with("ratio", "0.5"), at: "ratio")
        try expectMismatch(with("ratio", NSNull()), at: "ratio")
        try expectMismatch(with("flag", 1), at: "flag")
        try expectMismatch(with("kind", "c"), at: "kind")
        try expectMismatch(with("id", "not-a-uuid"), at: "id")
        try expectMismatch(with("tags", ["x", 2]), at: "tags[1]")
        try expectMismatch(with("scores", ["m": "high"]), at: "scores.m")
        try expectMismatch(with("scores", [1.0]), at: "scores")
        try expectMismatch(with("child", ["note": 5]), at: "child")
        try expectMismatch(with("children", [["note": "ok"], ["note": [1]]]), at: "children[1].note")
        try expectMismatch(with("other_kind", "z"), at: "other_kind")
        try expectMismatch(with("surplus", 1), at: "surplus")                   // not in the schema
    }

    @Test func unknownFieldsCanBeAllowed() throws {
        var object = valid()
        object["surplus"] = 1
        try AvroSchemaValidator.validate(json: object, schema: try schema(), allowingUnknownFields: true)
    }

    @Test func rejectsInvalidSchemas() throws {
        let bad: [(String, String)] = [
            (#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "strin"}]}"#, "unknown type name"),
            (#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": ["string", "null"], "default": null}]}"#, "first branch"),
            (#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": "zero"}]}"#, "default"),
            (#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}"#, "repeats field"),
            (#"{"type": "enum", "name": "E", "symbols": ["x", "x"]}"#, "repeats a symbol"),
            (#"{"type": "record", "name": "R"}"#, "fields"),
            (#"["null", ["int"]]"#, "union"),
            (#"{"type": "record", "name": "9R", "fields": []}"#, "invalid name"),
        ]
        for (text, expected) in bad {
            do {
                _ = try AvroSchema(json: JSONValue(bytes: Array(text.utf8)))
                Issue.record("accepted invalid schema \(text)")
            } catch let error as AvroSchemaError {
                #expect(error.code == .invalidSchema)
                #expect(error.reason.contains(expected), "\(error) should mention \(expected)")
            }
        }
    }

    @Test func missingSchemaFileIsReported() {
        do {
            _ = try AvroSchemaValidator.payloadSchema(eventType: "no_such_event", version: 1)
            Issue.record("loaded a schema that does not exist")
        } catch let error as AvroSchemaError {
            #expect(error.code == .schemaNotFound)
        } catch {
            Issue.record("untyped error \(error)")
        }
    }

    @Test func recursiveSchemasValidate() throws {
        let text = #"{"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"], "default": null}]}"#
        let schema = try AvroSchema(json: JSONValue(bytes: Array(text.utf8)))
        try AvroSchemaValidator.validate(json: ["next": ["next": ["next": NSNull()]]], schema: schema)
        #expect(throws: AvroSchemaError.self) {
            try AvroSchemaValidator.validate(json: ["next": ["next": ["next": 1]]], schema: schema)
        }
    }

    @Test func validateEventPicksThePayloadSchemaFromTheEnvelope() throws {
        let codec = EventCodec()
        let bytes = try codec.encode(EventEnvelope(payload: CheckpointPublished.sample, producer: "validator-test"))
        try AvroSchemaValidator.validateEvent(bytes: bytes)

        var object = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
        var payload = object["payload"] as! [String: Any]
        payload["model_kind"] = "critic"
        object["payload"] = payload
        do {
            try AvroSchemaValidator.validateEvent(json: object)
            Issue.record("accepted model_kind 'critic'")
        } catch let error as AvroSchemaError {
            #expect(error.path == "payload.model_kind")
        }
        object["event_id"] = "42"
        #expect(throws: AvroSchemaError.self) { try AvroSchemaValidator.validateEvent(json: object) }
    }

    @Test func jsonValueKeepsNumberKindsApart() throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(#"[true, 1, 1.0, 1.5, 9223372036854775807, "1"]"#.utf8))
        let value = try JSONValue(any: parsed)
        guard case .array(let items) = value else { Issue.record("not an array"); return }
        #expect(items[0] == .bool(true))
        #expect(items[1] == .integer(1))
        #expect(items[2].integerValue == 1 && items[2] != .bool(true))
        #expect(items[3] == .number(1.5))
        #expect(items[4] == .integer(Int64.max))
        #expect(items[5] == .string("1"))
        #expect(try JSONValue(bytes: Array("[true, 1, 1.5]".utf8)) == .array([.bool(true), .integer(1), .number(1.5)]))
    }
}
