import Events
import Foundation

/// Checks JSON values against CDRA's Avro schemas (`Schemas/events/*.avsc`).
///
/// Events travel as plain JSON: a union value is written bare (`"x"` or `null`), not in Avro's
/// tagged JSON encoding (`{"string": "x"}`), and a field whose schema has a `default` may be
/// absent. Fields not in the schema are rejected unless `allowingUnknownFields` is set.
public enum AvroSchemaValidator {
    /// Name the envelope schema uses for "the record of the payload schema chosen by `type` and
    /// `schema_version`".
    public static let payloadTypeName = "cdra.events.Payload"

    // MARK: - Where the schemas are

    /// `$CDRA_SCHEMAS_DIR` when set, otherwise `Schemas/events` of the source tree this file was
    /// compiled from.
    public static var schemasDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["CDRA_SCHEMAS_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        // #filePath is <repo>/Tests/Support/EventsTesting/AvroSchemaValidator.swift.
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Schemas/events", isDirectory: true)
    }

    /// `<schemasDirectory>/<event_type>.v<version>.avsc`.
    public static func schemaURL(eventType: String, version: Int) -> URL {
        schemasDirectory.appendingPathComponent("\(eventType).v\(version).avsc")
    }

    /// The schema file of a payload type: `<schemasDirectory>/<eventType>.v<schemaVersion>.avsc`.
    public static func schemaURL(for type: any EventPayload.Type) -> URL {
        schemaURL(eventType: type.eventType, version: type.schemaVersion)
    }

    /// The schema of the envelope every event travels in.
    public static var envelopeSchemaURL: URL {
        schemasDirectory.appendingPathComponent("envelope.v1.avsc")
    }

    /// The payload schema of an event type and version.
    public static func payloadSchema(eventType: String, version: Int) throws -> AvroSchema {
        try AvroSchema(contentsOf: schemaURL(eventType: eventType, version: version))
    }

    /// The envelope schema with its `payload` field bound to the given payload schema.
    public static func eventSchema(payload: AvroSchema) throws -> AvroSchema {
        var external = payload.namedTypes
        external[payloadTypeName] = payload.root
        return try AvroSchema(contentsOf: envelopeSchemaURL, externalTypes: external)
    }

    // MARK: - Validation

    /// Checks a JSON value (as `JSONSerialization` returns it, or a ``JSONValue``) against a schema file.
    public static func validate(json: Any, schema url: URL, allowingUnknownFields: Bool = false) throws {
        try validate(JSONValue(any: json), against: AvroSchema(contentsOf: url), allowingUnknownFields: allowingUnknownFields)
    }

    /// Checks a JSON value against a parsed schema.
    public static func validate(json: Any, schema: AvroSchema, allowingUnknownFields: Bool = false) throws {
        try validate(JSONValue(any: json), against: schema, allowingUnknownFields: allowingUnknownFields)
    }

    /// Checks a whole encoded event: the envelope against `envelope.v1.avsc` and the payload
    /// against the schema its `type` and `schema_version` name.
    public static func validateEvent(bytes: [UInt8], allowingUnknownFields: Bool = false) throws {
        try validateEvent(json: JSONValue(bytes: bytes), allowingUnknownFields: allowingUnknownFields)
    }

    /// ``validateEvent(bytes:allowingUnknownFields:)`` for an already parsed event.
    public static func validateEvent(json: Any, allowingUnknownFields: Bool = false) throws {
        let value = try JSONValue(any: json)
        guard case .string(let type)? = value["type"], let version = value["schema_version"]?.integerValue,
              let v = Int(exactly: version) else {
            throw AvroSchemaError(.mismatch, path: "", "the event has no string 'type' and integer 'schema_version'")
        }
        let schema = try eventSchema(payload: payloadSchema(eventType: type, version: v))
        try validate(value, against: schema, allowingUnknownFields: allowingUnknownFields)
    }

    /// Checks a ``JSONValue`` against a parsed schema; throws ``AvroSchemaError`` (`mismatch`)
    /// naming the first offending path.
    public static func validate(_ value: JSONValue, against schema: AvroSchema, allowingUnknownFields: Bool = false) throws {
        let checker = Checker(schema: schema, allowUnknown: allowingUnknownFields)
        try checker.check(value, schema.root, path: "", depth: 0)
    }

    // MARK: - Checker

    private struct Checker {
        let schema: AvroSchema
        let allowUnknown: Bool
        /// Recursive schemas can describe unbounded values; cap the walk.
        static let maxDepth = 256

        func fail(_ path: String, _ reason: String) -> AvroSchemaError {
            AvroSchemaError(.mismatch, path: path, reason)
        }

        func check(_ value: JSONValue, _ kind: AvroSchema.Kind, path: String, depth: Int) throws {
            guard depth < Self.maxDepth else { throw fail(path, "nested deeper than \(Self.maxDepth) levels") }
            switch kind {
            case .null:
                guard case .null = value else { throw fail(path, "expected null, got \(value.kindName)") }
            case .boolean:
                guard case .bool = value else { throw fail(path, "expected boolean, got \(value.kindName)") }
            case .int:
                guard let n = value.integerValue, Int32(exactly: n) != nil else {
                    throw fail(path, "expected int (32-bit integer), got \(describe(value))")
                }
            case .long:
                guard value.integerValue != nil else { throw fail(path, "expected long (64-bit integer), got \(describe(value))") }
            case .float, .double:
                guard value.doubleValue != nil else { throw fail(path, "expected number, got \(value.kindName)") }
            case .string, .bytes:
                // Avro's JSON form of bytes is a string of code points 0-255.
                guard case .string(let s) = value else { throw fail(path, "expected string, got \(value.kindName)") }
                if case .bytes = kind, s.unicodeScalars.contains(where: { $0.value > 255 }) {
                    throw fail(path, "bytes string has a code point above 255")
                }
            case .fixed(let name, let size):
                guard case .string(let s) = value, s.unicodeScalars.count == size,
                      !s.unicodeScalars.contains(where: { $0.value > 255 }) else {
                    throw fail(path, "expected fixed \(name) of \(size) bytes")
                }
            case .enumeration(let e):
                guard case .string(let s) = value else { throw fail(path, "expected enum \(e.name) symbol, got \(value.kindName)") }
                guard e.symbols.contains(s) else {
                    throw fail(path, "'\(s.prefix(64))' is not a symbol of \(e.name) (\(e.symbols.joined(separator: ", ")))")
                }
            case .array(let items):
                guard case .array(let elements) = value else { throw fail(path, "expected array, got \(value.kindName)") }
                for (i, element) in elements.enumerated() {
                    try check(element, items, path: "\(path)[\(i)]", depth: depth + 1)
                }
            case .map(let values):
                guard case .object(let entries) = value else { throw fail(path, "expected map (JSON object), got \(value.kindName)") }
                for key in entries.keys.sorted() {
                    try check(entries[key]!, values, path: path.isEmpty ? key : "\(path).\(key)", depth: depth + 1)
                }
            case .record(let record):
                try checkRecord(value, record, path: path, depth: depth)
            case .union(let branches):
                var reasons: [String] = []
                for branch in branches {
                    do {
                        try check(value, branch, path: path, depth: depth + 1)
                        return
                    } catch let error as AvroSchemaError {
                        reasons.append(error.description)
                    }
                }
                throw fail(path, "matches no branch of the union: " + reasons.joined(separator: " | "))
            case .reference(let name):
                guard let target = schema.namedTypes[name] else { throw fail(path, "schema refers to undefined type \(name)") }
                try check(value, target, path: path, depth: depth + 1)
            case .logical(let logicalType, let base):
                try check(value, base, path: path, depth: depth + 1)
                if logicalType == "uuid", case .string(let s) = value, UUID(uuidString: s) == nil {
                    throw fail(path, "'\(s.prefix(64))' is not a UUID")
                }
            }
        }

        func checkRecord(_ value: JSONValue, _ record: AvroSchema.Record, path: String, depth: Int) throws {
            guard case .object(let fields) = value else { throw fail(path, "expected record \(record.name) (JSON object), got \(value.kindName)") }
            for field in record.fields {
                let fieldPath = path.isEmpty ? field.name : "\(path).\(field.name)"
                guard let fieldValue = fields[field.name] else {
                    guard field.defaultValue != nil else { throw fail(fieldPath, "required field of \(record.name) is missing") }
                    continue
                }
                try check(fieldValue, field.type, path: fieldPath, depth: depth + 1)
            }
            if !allowUnknown {
                let known = Set(record.fields.map(\.name))
                if let extra = fields.keys.sorted().first(where: { !known.contains($0) }) {
                    throw fail(path.isEmpty ? extra : "\(path).\(extra)", "field is not in the schema of \(record.name)")
                }
            }
        }

        func describe(_ value: JSONValue) -> String {
            switch value {
            case .integer, .number: return "\(value)"
            default: return value.kindName
            }
        }
    }
}
