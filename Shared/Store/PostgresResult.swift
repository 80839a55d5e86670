import CLibPQ
import Foundation

/// The rows a statement returned, read in PostgreSQL's text format. Owns the libpq result and
/// frees it on deinit; immutable, so it may be read from any thread.
public final class PostgresResult: @unchecked Sendable, RandomAccessCollection {
    let handle: OpaquePointer   // PGresult *, owned: PQclear in deinit
    /// Column names, in order.
    public let columnNames: [String]
    private let columnIndex: [String: Int]
    /// Rows affected by INSERT/UPDATE/DELETE/COPY (from the command tag); 0 when not reported.
    public let affectedRows: Int
    /// The command tag, e.g. `INSERT 0 3`, `COMMIT`, or `ROLLBACK` for a COMMIT of a failed transaction.
    public let commandTag: String

    init(taking handle: OpaquePointer) {
        self.handle = handle
        let n = Int(PQnfields(handle))
        var names: [String] = []
        names.reserveCapacity(n)
        for i in 0..<n { names.append(String(cString: PQfname(handle, Int32(i)))) }
        columnNames = names
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        columnIndex = index
        affectedRows = Int(String(cString: PQcmdTuples(handle))) ?? 0
        commandTag = String(cString: PQcmdStatus(handle))
    }

    deinit { PQclear(handle) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(PQntuples(handle)) }
    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < endIndex, "row index out of range")
        return PostgresRow(result: self, row: Int32(position))
    }

    func column(named name: String) throws -> Int32 {
        guard let i = columnIndex[name] else {
            throw StoreError(.decodingFailed, "no column '\(name)' in result (columns: \(columnNames.joined(separator: ", ")))")
        }
        return Int32(i)
    }

    func column(at index: Int) throws -> Int32 {
        guard index >= 0, index < columnNames.count else {
            throw StoreError(.decodingFailed, "column index \(index) out of range (\(columnNames.count) columns)")
        }
        return Int32(index)
    }
}
