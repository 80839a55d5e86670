import Events
import Foundation

/// A JSON value with exact number kinds, as read from the wire.
///
/// `JSONSerialization` hands back `NSNumber`s whose Bool/Int/Double identity is blurred on Linux
/// (a decoded `1.0` answers `is Bool`); schema validation needs the kinds kept apart, so values
/// are converted to this type first.
public enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent that fits in 64 bits, or an integral value.
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    // MARK: - Reading

    /// Parses UTF-8 JSON text. Throws ``AvroSchemaError`` with code `invalidJSON`.
    public init(bytes: [UInt8]) throws {
        do {
            self = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw AvroSchemaError(.invalidJSON, path: "", "not valid JSON: \(EventCodec.describe(error))")
        }
    }

    /// Converts the output of `JSONSerialization` (or hand-built `[String: Any]` trees of Swift
    /// strings, numbers, booleans, arrays, dictionaries and `NSNull`).
    public init(any value: Any) throws {
        switch value {
        case is NSNull:
            self = .null
        case let v as JSONValue:
            self = v
        case let v as String:
            self = .string(v)
        case let v as [Any]:
            self = .array(try v.map { try JSONValue(any: $0) })
        case let v as [String: Any]:
            self = .object(try v.mapValues { try JSONValue(any: $0) })
        default:
            guard let number = JSONValue.number(from: value) else {
                throw AvroSchemaError(.invalidJSON, path: "", "not a JSON value: \(type(of: value))")
            }
            self = number
        }
    }

    /// Native Swift numbers are told apart by their static type; `NSNumber`s by their storage
    /// type code ("c" is how Foundation stores JSON booleans).
    private static func number(from value: Any) -> JSONValue? {
        switch value {
        case let v as Bool where type(of: value) == Bool.self: return .bool(v)
        case let v as Int where type(of: value) == Int.self: return .integer(Int64(v))
        case let v as Int64 where type(of: value) == Int64.self: return .integer(v)
        case let v as Int32 where type(of: value) == Int32.self: return .integer(Int64(v))
        case let v as Double where type(of: value) == Double.self: return .number(v)
        case let v as Float where type(of: value) == Float.self: return .number(Double(v))
        default: break
        }
        guard let n = value as? NSNumber else { return nil }
        switch String(cString: n.objCType) {
        case "c", "B": return .bool(n.boolValue)
        case "d", "f": return .number(n.doubleValue)
        case "Q", "L", "I", "S", "C":
            return n.uint64Value <= UInt64(Int64.max) ? .integer(n.int64Value) : .number(n.doubleValue)
        default: return .integer(n.int64Value)
        }
    }

    /// The value as `JSONSerialization` would produce it (`NSNull` for null).
    public var anyValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let v): return v
        case .integer(let v): return Int(v)
        case .number(let v): return v
        case .string(let v): return v
        case .array(let v): return v.map(\.anyValue)
        case .object(let v): return v.mapValues(\.anyValue)
        }
    }

    // MARK: - Accessors

    /// The numeric value of an integer or a number.
    public var doubleValue: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .number(let v): return v
        default: return nil
        }
    }

    /// The value as an exact integer, when it is one (a `.number` with no fraction counts).
    public var integerValue: Int64? {
        switch self {
        case .integer(let v): return v
        case .number(let v):
            guard v.isFinite, v.rounded() == v, v >= -9.223372036854775808e18, v < 9.223372036854775808e18 else { return nil }
            return Int64(v)
        default: return nil
        }
    }

    /// The value of an object's field; nil for a missing field or a non-object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    /// The JSON kind, for messages: `null`, `boolean`, `integer`, `number`, `string`, `array`, `object`.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public var description: String {
        guard let data = try? EventCodec.makeEncoder().encode(self) else { return kindName }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Codable

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let v = try? c.decode(Bool.self) { self = .bool(v); return }
        if let v = try? c.decode(Int64.self) { self = .integer(v); return }
        if let v = try? c.decode(Double.self) { self = .number(v); return }
        if let v = try? c.decode(String.self) { self = .string(v); return }
        if let v = try? c.decode([JSONValue].self) { self = .array(v); return }
        if let v = try? c.decode([String: JSONValue].self) { self = .object(v); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .integer(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }
}
