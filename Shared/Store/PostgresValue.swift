import Foundation

/// A value bound to a statement parameter or written by COPY. `nil` (an absent
/// `PostgresValue?`) is SQL NULL.
public enum PostgresValue: Sendable, Equatable {
    /// Sent untyped, so the server reads it as whatever the context needs (text, varchar, a
    /// timestamp literal, an enum, ...).
    case text(String)
    /// Also sent untyped (read as int2, int4 or int8 as the context needs); add a cast
    /// (`$1::int8`) where the server cannot tell.
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Sent in binary: no escaping cost for multi-megabyte checkpoints.
    case bytea([UInt8])
    case uuid(UUID)
    /// JSON text bound as `jsonb`.
    case jsonb(String)
    /// Bound as `timestamptz`, microsecond precision.
    case timestamp(Date)
    /// Bound as `text[]`; elements may be NULL.
    case textArray([String?])
    /// Bound as `float8[]` (assignable to `real[]` columns).
    case doubleArray([Double])
    /// Bound as `int8[]`.
    case intArray([Int64])
    /// Bound as `uuid[]`.
    case uuidArray([UUID])

    public static func int(_ value: Int) -> PostgresValue { .int(Int64(value)) }
    public static func int(_ value: Int32) -> PostgresValue { .int(Int64(value)) }
    public static func textArray(_ values: [String]) -> PostgresValue { .textArray(values.map { Optional($0) }) }

    // MARK: - Wire form

    /// PostgreSQL type OID sent with the parameter; 0 lets the server infer it.
    var typeOID: UInt32 {
        switch self {
        case .text: return 0
        case .int: return 0            // untyped like text: fits int2/int4/int8 parameters alike
        case .double: return 701       // float8
        case .bool: return 16
        case .bytea: return 17
        case .uuid: return 2950
        case .jsonb: return 3802
        case .timestamp: return 1184   // timestamptz
        case .textArray: return 1009
        case .doubleArray: return 1022
        case .intArray: return 1016
        case .uuidArray: return 2951
        }
    }

    /// True for values sent in binary format (only bytea: its text form would double the size).
    var isBinary: Bool {
        if case .bytea = self { return true }
        return false
    }

    /// The text form PostgreSQL's input functions accept (for bytea: the `\x` hex form).
    var textForm: String {
        switch self {
        case .text(let s), .jsonb(let s): return s
        case .int(let n): return String(n)
        case .double(let d): return Self.formatDouble(d)
        case .bool(let b): return b ? "t" : "f"
        case .bytea(let bytes): return Self.hexBytea(bytes)
        case .uuid(let u): return u.uuidString
        case .timestamp(let d): return PostgresTimestamp.format(d)
        case .textArray(let items): return Self.arrayLiteral(items.map { $0.map(Self.quoteArrayElement) ?? "NULL" })
        case .doubleArray(let items): return Self.arrayLiteral(items.map(Self.formatDouble))
        case .intArray(let items): return Self.arrayLiteral(items.map { String($0) })
        case .uuidArray(let items): return Self.arrayLiteral(items.map { $0.uuidString })
        }
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return "\(d)"   // Swift prints the shortest text that reads back to the same Double
    }

    static func arrayLiteral(_ elements: [String]) -> String {
        "{" + elements.joined(separator: ",") + "}"
    }

    /// Array elements are always double-quoted, with `"` and `\` backslash-escaped, so empty
    /// strings, `NULL`, commas, braces and whitespace survive.
    static func quoteArrayElement(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for ch in s.unicodeScalars {
            if ch == "\"" || ch == "\\" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(ch)
        }
        out += "\""
        return out
    }

    static func hexBytea(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 2 + bytes.count * 2)
        out[0] = UInt8(ascii: "\\"); out[1] = UInt8(ascii: "x")
        for (i, b) in bytes.enumerated() {
            out[2 + 2 * i] = digits[Int(b >> 4)]
            out[3 + 2 * i] = digits[Int(b & 0x0f)]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
