import Foundation
import Events
import EventsTesting

/// Proves a Swift `Codable` type and an Avro schema describe the same JSON, from both sides,
/// without a hand-written list of fields:
///
/// 1. Swift → schema: a fully populated sample encodes to JSON that the schema accepts strictly
///    (no field unknown to the schema, every value of the schema's type).
/// 2. Schema → Swift: walking the schema over that JSON, every field is present and non-null
///    (so the Swift type has every schema field), and for every field, at every depth, the JSON
///    is mutated and decoded back into the Swift type:
///    - removed: decodes iff the schema has a default, and re-encodes as that default;
///    - set to null: decodes iff the schema's type is nullable, and re-encodes as absent or null;
///    - set to a value of another JSON kind: never decodes; doubles accept 0.25 and keep it
///      (so the Swift field is not an integer); enums accept every symbol and reject others.
struct SchemaConformance<T: Codable> {
    let schema: AvroSchema
    let sample: T
    /// Extra value checks of the Swift type (an event payload's `validationProblems()`).
    var validate: (T) -> [String] = { _ in [] }

    private(set) var problems: [String] = []
    private(set) var probes = 0

    init(schema: AvroSchema, sample: T, validate: @escaping (T) -> [String] = { _ in [] }) {
        self.schema = schema
        self.sample = sample
        self.validate = validate
    }

    mutating func run() -> [String] {
        problems = []
        let json: JSONValue
        do {
            json = try Self.roundTrip(sample)
        } catch {
            return ["the sample does not encode: \(error)"]
        }
        problems += SampleCompleteness.problems(in: sample)
        do {
            try AvroSchemaValidator.validate(json, against: schema)
        } catch {
            problems.append("Swift → schema: the sample's JSON does not match the schema: \(error)")
        }
        walk(json, schema.root, path: [], original: json)
        return problems
    }

    // MARK: - Walk

    private mutating func walk(_ value: JSONValue, _ kind: AvroSchema.Kind, path: [JSONPath.Segment], original: JSONValue) {
        switch schema.resolve(kind) {
        case .record(let record):
            guard case .object(let fields) = value else { return }
            for field in record.fields {
                let fieldPath = path + [.key(field.name)]
                let name = JSONPath.describe(fieldPath)
                probeField(field, path: fieldPath, original: original)
                guard let fieldValue = fields[field.name], fieldValue != .null else {
                    problems.append("schema → Swift: field '\(name)' of \(record.name) is absent or null in the fully populated sample")
                    continue
                }
                walk(fieldValue, field.type, path: fieldPath, original: original)
            }
        case .union(let branches):
            let branch = branches.first { branch in
                (try? AvroSchemaValidator.validate(value, against: subschema(branch))) != nil && schema.resolve(branch) != .null
            }
            if let branch { walk(value, branch, path: path, original: original) }
        case .array(let items):
            guard case .array(let elements) = value else { return }
            guard let first = elements.first else {
                problems.append("schema → Swift: array '\(JSONPath.describe(path))' is empty in the fully populated sample")
                return
            }
            probeValue(items, path: path + [.index(0)], original: original)
            walk(first, items, path: path + [.index(0)], original: original)
        case .map(let values):
            guard case .object(let entries) = value else { return }
            guard let key = entries.keys.sorted().first else {
                problems.append("schema → Swift: map '\(JSONPath.describe(path))' is empty in the fully populated sample")
                return
            }
            probeValue(values, path: path + [.key(key)], original: original)
            walk(entries[key]!, values, path: path + [.key(key)], original: original)
        case .logical(_, let base):
            walk(value, base, path: path, original: original)
        default:
            break
        }
    }

    // MARK: - Probes

    private mutating func probeField(_ field: AvroSchema.Field, path: [JSONPath.Segment], original: JSONValue) {
        let name = JSONPath.describe(path)
        // Removed.
        let removed = JSONPath.setting(original, at: path, to: nil)
        switch (field.defaultValue, decode(removed)) {
        case (nil, .success):
            problems.append("'\(name)': Swift decodes without the field, but the schema has no default")
        case (let defaultValue?, .failure(let error)):
            problems.append("'\(name)': the schema has default \(defaultValue), but Swift fails without the field: \(error)")
        case (let defaultValue?, .success(let reencoded)):
            let got = JSONPath.value(in: reencoded, at: path)
            if defaultValue == .null {
                if let got, got != .null { problems.append("'\(name)': absent should decode as null; Swift re-encodes \(got)") }
            } else if !Self.sameJSON(got, defaultValue) {
                problems.append("'\(name)': absent should decode as the schema default \(defaultValue); Swift re-encodes \(got.map { "\($0)" } ?? "nothing")")
            }
        case (nil, .failure):
            break
        }
        // Null.
        let nulled = JSONPath.setting(original, at: path, to: .null)
        switch (isNullable(field.type), decode(nulled)) {
        case (false, .success):
            problems.append("'\(name)': Swift accepts null, but the schema's type is not nullable")
        case (true, .failure(let error)):
            problems.append("'\(name)': the schema allows null, but Swift rejects it: \(error)")
        case (true, .success(let reencoded)):
            if let got = JSONPath.value(in: reencoded, at: path), got != .null {
                problems.append("'\(name)': null should stay null; Swift re-encodes \(got)")
            }
            // Swift writes a nil field as absent (or null): the schema must accept that encoding.
            // (Mismatches elsewhere are reported by the checks of those fields.)
            do {
                try AvroSchemaValidator.validate(reencoded, against: schema)
            } catch let error as AvroSchemaError where error.path.hasPrefix(name) {
                problems.append("'\(name)': Swift's encoding with the field nil does not match the schema: \(error)")
            } catch {}
        case (false, .failure):
            break
        }
        probeValue(field.type, path: path, original: original)
    }

    /// Values of the wrong JSON kind must not decode; values of the right kind must keep their meaning.
    private mutating func probeValue(_ kind: AvroSchema.Kind, path: [JSONPath.Segment], original: JSONValue) {
        let name = JSONPath.describe(path)
        var type = schema.resolve(kind)
        if case .union(let branches) = type {
            let nonNull = branches.filter { schema.resolve($0) != .null }
            guard nonNull.count == 1 else { return }
            type = schema.resolve(nonNull[0])
        }
        if case .logical(_, let base) = type { type = schema.resolve(base) }

        func mustFail(_ value: JSONValue, _ what: String) {
            if case .success = decode(JSONPath.setting(original, at: path, to: value)) {
                problems.append("'\(name)': Swift accepts \(what) where the schema wants \(Self.kindName(type))")
            }
        }
        func mustKeep(_ value: JSONValue, _ what: String) {
            switch decode(JSONPath.setting(original, at: path, to: value)) {
            case .failure(let error):
                problems.append("'\(name)': Swift rejects \(what), which the schema (\(Self.kindName(type))) accepts: \(error)")
            case .success(let reencoded):
                let got = JSONPath.value(in: reencoded, at: path)
                if !Self.sameJSON(got, value) {
                    problems.append("'\(name)': \(what) comes back as \(got.map { "\($0)" } ?? "nothing")")
                }
            }
        }

        switch type {
        case .string, .bytes, .fixed:
            mustFail(.integer(12345), "a number")
            mustFail(.object([:]), "an object")
        case .int, .long:
            mustFail(.string("7"), "a string")
            mustFail(.number(0.5), "a fraction")
            mustFail(.bool(true), "a boolean")
            if case .long = type { mustKeep(.integer(1 << 40), "the long 2^40") }
        case .float, .double:
            mustFail(.string("0.5"), "a string")
            mustFail(.bool(true), "a boolean")
            mustKeep(.number(0.25), "the fraction 0.25")
        case .boolean:
            mustFail(.string("true"), "a string")
            mustFail(.integer(1), "a number")
            if case .bool(let b)? = JSONPath.value(in: original, at: path) { mustKeep(.bool(!b), "the other boolean") }
        case .enumeration(let e):
            mustFail(.integer(0), "a number")
            for symbol in e.symbols { mustKeep(.string(symbol), "symbol '\(symbol)'") }
            let bogus = JSONPath.setting(original, at: path, to: .string("not_a_symbol_of_\(e.name)"))
            if case .success = decodeAndValidate(bogus) {
                problems.append("'\(name)': Swift accepts a string that is not a symbol of \(e.name)")
            }
        case .array:
            mustFail(.string("x"), "a string")
            mustFail(.object([:]), "an object")
        case .map:
            mustFail(.array([]), "an array")
            mustFail(.string("x"), "a string")
        case .record:
            mustFail(.string("x"), "a string")
            mustFail(.array([]), "an array")
        case .null, .union, .reference, .logical:
            break
        }
    }

    // MARK: - Helpers

    private mutating func decode(_ json: JSONValue) -> Result<JSONValue, any Error> {
        probes += 1
        return Result {
            let data = try EventCodec.makeEncoder().encode(json)
            let value = try EventCodec.makeDecoder().decode(T.self, from: data)
            return try Self.roundTrip(value)
        }
    }

    private mutating func decodeAndValidate(_ json: JSONValue) -> Result<Void, any Error> {
        probes += 1
        return Result {
            let data = try EventCodec.makeEncoder().encode(json)
            let value = try EventCodec.makeDecoder().decode(T.self, from: data)
            let found = validate(value)
            if !found.isEmpty { throw AvroSchemaError(.mismatch, path: "", found.joined(separator: "; ")) }
        }
    }

    private func isNullable(_ kind: AvroSchema.Kind) -> Bool {
        switch schema.resolve(kind) {
        case .null: return true
        case .union(let branches): return branches.contains { schema.resolve($0) == .null }
        default: return false
        }
    }

    private func subschema(_ kind: AvroSchema.Kind) -> AvroSchema {
        schema.replacingRoot(kind)
    }

    static func roundTrip(_ value: T) throws -> JSONValue {
        try JSONValue(bytes: [UInt8](EventCodec.makeEncoder().encode(value)))
    }

    /// Equal JSON, with integers and numbers compared by value (the encoder writes 1.0 as 1).
    static func sameJSON(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let x?, let y?):
            if let p = x.doubleValue, let q = y.doubleValue { return p == q }
            switch (x, y) {
            case (.array(let p), .array(let q)):
                return p.count == q.count && zip(p, q).allSatisfy { sameJSON($0, $1) }
            case (.object(let p), .object(let q)):
                return Set(p.keys) == Set(q.keys) && p.keys.allSatisfy { sameJSON(p[$0], q[$0]) }
            default:
                return x == y
            }
        default: return false
        }
    }

    static func kindName(_ kind: AvroSchema.Kind) -> String {
        switch kind {
        case .record(let r): return "record \(r.name)"
        case .enumeration(let e): return "enum \(e.name)"
        case .fixed(let name, _): return "fixed \(name)"
        default: return "\(kind)".components(separatedBy: "(").first ?? "\(kind)"
        }
    }
}

extension AvroSchema {
    func replacingRoot(_ kind: Kind) -> AvroSchema {
        var copy = self
        copy.root = kind
        return copy
    }
}
