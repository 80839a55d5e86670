import CLibPQ
import Foundation

// MARK: - COPY FROM STDIN

extension PostgresConnection {
    /// Writes rows with `COPY table (columns) FROM STDIN` (text format) and returns how many
    /// were written. Values are escaped for COPY (backslash, tab, newline, carriage return); nil
    /// is NULL. `table` may be `schema.table`; table and column names are code constants and are
    /// quoted. Inside a transaction, a failure leaves the transaction aborted; outside one, no
    /// row is written.
    @discardableResult
    public func copyRows(into table: String, columns: [String], rows: [[PostgresValue?]]) throws -> Int {
        precondition(!columns.isEmpty, "copyRows needs at least one column")
        for (i, row) in rows.enumerated() where row.count != columns.count {
            throw StoreError(.copyFailed, "row \(i) has \(row.count) values for \(columns.count) columns")
        }
        let target = table.split(separator: ".", omittingEmptySubsequences: false)
            .map { Self.quoteIdentifier(String($0)) }.joined(separator: ".")
        let sql = "COPY \(target) (\(columns.map(Self.quoteIdentifier).joined(separator: ", "))) FROM STDIN"
        let start = PQexec(handle, sql)
        guard let start, PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try check(start, sql: sql, fallback: .copyFailed)   // throws the server's reason
            throw StoreError(.copyFailed, "server did not enter COPY IN mode — in: \(sql)")
        }
        PQclear(start)

        // Rows go out in ~1 MiB chunks: big enough to amortize calls, small enough to stream.
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var sendFailed = false
        func flush() {
            guard !buffer.isEmpty, !sendFailed else { return }
            let sent = buffer.withUnsafeBufferPointer { raw in
                raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) {
                    PQputCopyData(handle, $0, Int32(raw.count))
                }
            }
            if sent != 1 { sendFailed = true }
            buffer.removeAll(keepingCapacity: true)
        }
        for row in rows {
            for (i, value) in row.enumerated() {
                if i > 0 { buffer.append(0x09) }
                if let value {
                    Self.appendCopyEscaped(value.textForm, to: &buffer)
                } else {
                    buffer.append(0x5c); buffer.append(UInt8(ascii: "N"))   // \N is NULL
                }
            }
            buffer.append(0x0a)
            if buffer.count >= 1 << 20 { flush() }
        }
        flush()
        if sendFailed {
            _ = PQputCopyEnd(handle, "client could not send COPY data")
        } else if PQputCopyEnd(handle, nil) != 1 {
            sendFailed = true
        }
        // The COPY's own result, then NULL.
        var outcome: Result<Int, StoreError> = .failure(StoreError(.copyFailed, "no result for COPY — in: \(sql)"))
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                outcome = .success(Int(String(cString: PQcmdTuples(result))) ?? rows.count)
            } else {
                outcome = .failure(makeError(result, sql: sql, fallback: .copyFailed))
            }
            PQclear(result)
        }
        if !isHealthy { throw lostError() }
        if sendFailed, case .success = outcome {
            throw StoreError(.copyFailed, "sending COPY data failed: \(Self.trim(String(cString: PQerrorMessage(handle))))")
        }
        return try outcome.get()
    }

    /// COPY text format: backslash, tab, newline and carriage return are backslash-escaped;
    /// everything else (including other control characters and UTF-8) goes as is.
    static func appendCopyEscaped(_ text: String, to buffer: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case 0x5c: buffer.append(0x5c); buffer.append(0x5c)
            case 0x09: buffer.append(0x5c); buffer.append(UInt8(ascii: "t"))
            case 0x0a: buffer.append(0x5c); buffer.append(UInt8(ascii: "n"))
            case 0x0d: buffer.append(0x5c); buffer.append(UInt8(ascii: "r"))
            default: buffer.append(byte)
            }
        }
    }
}

// MARK: - Pipeline mode

extension PostgresConnection {
    /// One statement of a pipelined batch.
    public struct Statement: Sendable {
        public var sql: String
        public var parameters: [PostgresValue?]
        public init(_ sql: String, _ parameters: [PostgresValue?] = []) {
            self.sql = sql
            self.parameters = parameters
        }
    }

    /// Sends many statements without waiting for each reply (libpq pipeline mode) and returns
    /// their results in order. Pays when there are many small statements and a network round
    /// trip is long. Each chunk of statements is followed by a sync; wrap the call in
    /// ``transaction(_:)`` for all-or-nothing. Throws the first statement error.
    public func executePipelined(_ statements: [Statement]) throws -> [PostgresResult] {
        guard !statements.isEmpty else { return [] }
        guard PQenterPipelineMode(handle) == 1 else {
            throw StoreError(.queryFailed, "cannot enter pipeline mode: \(Self.trim(String(cString: PQerrorMessage(handle))))")
        }
        defer { _ = PQexitPipelineMode(handle) }
        // In blocking mode, a pipeline can deadlock if both sides' socket buffers fill up;
        // bounded chunks keep the unread replies far below that.
        let chunkSize = 256
        var results: [PostgresResult] = []
        results.reserveCapacity(statements.count)
        var firstError: StoreError?
        var start = 0
        while start < statements.count {
            let chunk = statements[start..<min(start + chunkSize, statements.count)]
            for statement in chunk {
                let encoded = Self.encode(statement.parameters)
                let sent = Self.withPointers(encoded.buffers) { values in
                    PQsendQueryParams(handle, statement.sql, Int32(encoded.types.count), encoded.types, values,
                                      encoded.lengths, encoded.formats, 0)
                }
                if sent != 1 { throw isHealthy ? StoreError(.queryFailed, Self.trim(String(cString: PQerrorMessage(handle)))) : lostError() }
            }
            guard PQpipelineSync(handle) == 1 else { throw lostError() }
            for statement in chunk {
                // Each statement yields its result(s), then NULL.
                var produced: PostgresResult?
                while let result = PQgetResult(handle) {
                    let status = PQresultStatus(result)
                    if status == PGRES_PIPELINE_ABORTED {
                        PQclear(result)
                    } else if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY {
                        produced = PostgresResult(taking: result)
                    } else {
                        if firstError == nil { firstError = makeError(result, sql: statement.sql, fallback: .queryFailed) }
                        PQclear(result)
                    }
                }
                if let produced { results.append(produced) }
                if !isHealthy { throw lostError() }
            }
            // The sync point's own result.
            if let sync = PQgetResult(handle) { PQclear(sync) }
            start += chunkSize
            if firstError != nil { break }
        }
        if let firstError { throw firstError }
        return results
    }

    static func encode(_ parameters: [PostgresValue?])
        -> (types: [UInt32], formats: [Int32], lengths: [Int32], buffers: [[UInt8]?])
    {
        var types = [UInt32](repeating: 0, count: parameters.count)
        var formats = [Int32](repeating: 0, count: parameters.count)
        var lengths = [Int32](repeating: 0, count: parameters.count)
        var buffers: [[UInt8]?] = []
        buffers.reserveCapacity(parameters.count)
        for (i, parameter) in parameters.enumerated() {
            guard let parameter else { buffers.append(nil); continue }
            types[i] = parameter.typeOID
            let bytes: [UInt8]
            if case .bytea(let raw) = parameter {
                formats[i] = 1
                bytes = raw
            } else {
                bytes = Array(parameter.textForm.utf8) + [0]
            }
            lengths[i] = Int32(truncatingIfNeeded: bytes.count)
            buffers.append(bytes)
        }
        return (types, formats, lengths, buffers)
    }
}
