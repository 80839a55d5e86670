import CLibPQ
import Foundation

/// One row of a ``PostgresResult``. Every accessor returns nil for SQL NULL and throws
/// `.decodingFailed` when the value is not of the requested type. Columns are named by
/// position or by name (the first column of that name).
public struct PostgresRow: @unchecked Sendable {
    let result: PostgresResult
    let row: Int32

    /// A column reference: its position or its name.
    public enum Column: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, Sendable {
        case index(Int)
        case name(String)
        public init(integerLiteral value: Int) { self = .index(value) }
        public init(stringLiteral value: String) { self = .name(value) }
    }

    private func resolve(_ column: Column) throws -> Int32 {
        switch column {
        case .index(let i): return try result.column(at: i)
        case .name(let n): return try result.column(named: n)
        }
    }

    /// Raw text bytes of a value, or nil for NULL; valid only while the result lives.
    private func withRaw<T>(_ column: Column, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
        let c = try resolve(column)
        if PQgetisnull(result.handle, row, c) == 1 { return nil }
        let length = Int(PQgetlength(result.handle, row, c))
        guard let pointer = PQgetvalue(result.handle, row, c) else { return nil }
        return try pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            try body(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    private func failure(_ column: Column, _ type: String, _ text: String) -> StoreError {
        let name: String
        switch column { case .index(let i): name = "#\(i)"; case .name(let n): name = "'\(n)'" }
        return StoreError(.decodingFailed, "column \(name): '\(text.prefix(60))' is not a \(type)")
    }

    public func isNull(_ column: Column) throws -> Bool {
        PQgetisnull(result.handle, row, try resolve(column)) == 1
    }

    public func string(_ column: Column) throws -> String? {
        try withRaw(column) { String(decoding: $0, as: UTF8.self) }
    }

    public func int(_ column: Column) throws -> Int? {
        guard let text = try string(column) else { return nil }
        guard let n = Int(text) else { throw failure(column, "integer", text) }
        return n
    }

    public func double(_ column: Column) throws -> Double? {
        guard let text = try string(column) else { return nil }
        guard let d = Self.parseDouble(text) else { throw failure(column, "number", text) }
        return d
    }

    public func bool(_ column: Column) throws -> Bool? {
        guard let text = try string(column) else { return nil }
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: throw failure(column, "boolean", text)
        }
    }

    public func uuid(_ column: Column) throws -> UUID? {
        guard let text = try string(column) else { return nil }
        guard let u = UUID(uuidString: text) else { throw failure(column, "uuid", text) }
        return u
    }

    /// json or jsonb columns, as JSON text.
    public func json(_ column: Column) throws -> String? { try string(column) }

    /// timestamptz, timestamp or date columns.
    public func date(_ column: Column) throws -> Date? {
        guard let text = try string(column) else { return nil }
        guard let d = PostgresTimestamp.parse(text) else { throw failure(column, "timestamp", text) }
        return d
    }

    /// bytea, decoded from the `\x` hex text form.
    public func bytes(_ column: Column) throws -> [UInt8]? {
        let decoded: [UInt8]?? = try withRaw(column) { raw -> [UInt8]? in
            guard raw.count >= 2, raw[0] == UInt8(ascii: "\\"), raw[1] == UInt8(ascii: "x"), raw.count % 2 == 0 else {
                return nil
            }
            return Self.decodeHex(raw)
        }
        guard let decoded else { return nil }   // SQL NULL
        guard let bytes = decoded else {
            throw failure(column, "bytea in hex form", (try? string(column)) ?? "")
        }
        return bytes
    }

    /// One-dimensional text[] (or any array) as strings; NULL elements are nil.
    public func stringArray(_ column: Column) throws -> [String?]? {
        guard let text = try string(column) else { return nil }
        guard let items = Self.parseArray(text) else { throw failure(column, "one-dimensional array", text) }
        return items
    }

    /// One-dimensional real[] / float8[] / numeric[] as doubles; a NULL element is an error.
    public func doubleArray(_ column: Column) throws -> [Double]? {
        guard let items = try stringArray(column) else { return nil }
        return try items.map { item in
            guard let item, let d = Self.parseDouble(item) else { throw failure(column, "array of numbers", item ?? "NULL") }
            return d
        }
    }

    // MARK: - Parsing

    static func parseDouble(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }

    static func decodeHex(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = (raw.count - 2) / 2
        var ok = true
        let out = [UInt8](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n {
                guard let hi = hexValue(raw[2 + 2 * i]), let lo = hexValue(raw[3 + 2 * i]) else { ok = false; count = 0; return }
                buffer[i] = hi << 4 | lo
            }
            count = n
        }
        return ok ? out : nil
    }

    /// Parses PostgreSQL's one-dimensional array output: `{a,"b \"c\"",NULL}`.
    static func parseArray(_ text: String) -> [String?]? {
        let b = Array(text.utf8)
        guard b.count >= 2, b.first == UInt8(ascii: "{"), b.last == UInt8(ascii: "}") else { return nil }
        if b.count == 2 { return [] }
        var items: [String?] = []
        var i = 1
        let end = b.count - 1
        while i <= end {
            var element: [UInt8] = []
            var quoted = false
            if b[i] == UInt8(ascii: "\"") {
                quoted = true
                i += 1
                while i < end, b[i] != UInt8(ascii: "\"") {
                    if b[i] == UInt8(ascii: "\\") { i += 1; guard i < end else { return nil } }
                    element.append(b[i]); i += 1
                }
                guard i < end else { return nil }
                i += 1 // closing quote
            } else {
                while i < end, b[i] != UInt8(ascii: ",") {
                    if b[i] == UInt8(ascii: "{") { return nil } // nested arrays are not supported
                    if b[i] == UInt8(ascii: "\\") { i += 1; guard i < end else { return nil } }
                    element.append(b[i]); i += 1
                }
            }
            let value = String(decoding: element, as: UTF8.self)
            items.append(!quoted && value == "NULL" ? nil : value)
            guard i == end || b[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
        return items
    }
}
