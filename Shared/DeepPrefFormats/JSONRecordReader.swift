import Foundation

/// Splits a file into JSON object records with the line each starts on. Accepts JSON Lines
/// (one object per line, blank lines ignored), a JSON array of objects (each element parsed on
/// its own, so one bad element does not lose the others), and a file holding one object.
/// Never throws: unreadable files and bad records become ``RecordProblem``s.
public enum JSONRecordReader {
    /// One JSON object of a file.
    public struct RawRecord: @unchecked Sendable {
        /// 1-based line the record starts on.
        public var line: Int
        /// 0-based position among the file's records (a JSON array's element index).
        public var position: Int
        public var object: [String: Any]
        /// The record's own bytes, for `JSONDecoder`.
        public var bytes: Data
    }

    /// Reads the file and turns each record into a value with `parse`; a record `parse` rejects
    /// becomes a problem at its line, with the error as the reason.
    public static func read<Record>(_ url: URL, parse: (RawRecord) throws -> Record) -> RecordBatch<Record> {
        let raw = read(url)
        var batch = RecordBatch<Record>(problems: raw.problems)
        for record in raw.records {
            do { batch.records.append(try parse(record)) }
            catch { batch.problems.append(RecordProblem(file: url.path, line: record.line, reason: "\(error)")) }
        }
        return batch
    }

    public static func read(_ url: URL, file: String? = nil) -> RecordBatch<RawRecord> {
        let name = file ?? url.path
        do {
            return read(data: try Data(contentsOf: url), file: name)
        } catch {
            return RecordBatch(problems: [RecordProblem(file: name, line: 0, reason: "cannot read the file: \(error.localizedDescription)")])
        }
    }

    public static func read(data: Data, file: String) -> RecordBatch<RawRecord> {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) } // UTF-8 byte order mark
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return RecordBatch() }
        if bytes[first] == UInt8(ascii: "[") { return readArray(bytes, from: first, file: file) }
        return readLines(bytes, file: file)
    }

    // MARK: - JSON Lines

    private static func readLines(_ bytes: [UInt8], file: String) -> RecordBatch<RawRecord> {
        var batch = RecordBatch<RawRecord>()
        var lineNumber = 0
        var start = 0
        var position = 0
        var lines: [(Int, ArraySlice<UInt8>)] = []
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            lineNumber += 1
            lines.append((lineNumber, bytes[start..<end]))
            start = end + 1
        }
        // A pretty-printed file with a single object is not JSON Lines; read it whole.
        let nonBlank = lines.filter { $0.1.contains { !isSpace($0) } }
        if nonBlank.count > 1, (try? JSONSerialization.jsonObject(with: Data(nonBlank[0].1))) == nil,
           let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] {
            return RecordBatch(records: [RawRecord(line: nonBlank[0].0, position: 0, object: object, bytes: Data(bytes))])
        }
        for (number, slice) in nonBlank {
            append(Data(slice), line: number, position: position, file: file, to: &batch)
            position += 1
        }
        return batch
    }

    /// Parses one record's bytes into the batch: a record, or a problem at its line.
    private static func append(_ data: Data, line: Int, position: Int, file: String, to batch: inout RecordBatch<RawRecord>) {
        switch parseObject(data) {
        case .success(let object):
            batch.records.append(RawRecord(line: line, position: position, object: object, bytes: data))
        case .failure(let reason):
            batch.problems.append(RecordProblem(file: file, line: line, reason: reason.description))
        }
    }

    // MARK: - JSON array

    private static func readArray(_ bytes: [UInt8], from open: Int, file: String) -> RecordBatch<RawRecord> {
        var batch = RecordBatch<RawRecord>()
        var line = 1 + bytes[..<open].filter { $0 == UInt8(ascii: "\n") }.count
        var depth = 0
        var inString = false
        var escaped = false
        var elementStart: Int? = nil
        var elementLine = line
        var position = 0
        var closed = false
        func finishElement(_ end: Int) {
            guard let s = elementStart else { return }
            let slice = bytes[s..<end]
            elementStart = nil
            guard slice.contains(where: { !isSpace($0) }) else {
                batch.problems.append(RecordProblem(file: file, line: elementLine, reason: "empty array element"))
                return
            }
            append(Data(slice), line: elementLine, position: position, file: file, to: &batch)
            position += 1
        }
        var i = open + 1
        depth = 1
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\n") { line += 1 }
            if inString {
                if escaped { escaped = false }
                else if c == UInt8(ascii: "\\") { escaped = true }
                else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
                if elementStart == nil { elementStart = i; elementLine = line }
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                if depth == 1 && elementStart == nil { elementStart = i; elementLine = line }
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { finishElement(i); closed = true; break }
            } else if c == UInt8(ascii: ",") && depth == 1 {
                if elementStart == nil {
                    batch.problems.append(RecordProblem(file: file, line: line, reason: "empty array element"))
                } else {
                    finishElement(i)
                }
            } else if !isSpace(c) && depth == 1 && elementStart == nil {
                elementStart = i; elementLine = line
            }
            i += 1
        }
        if !closed {
            if elementStart != nil { finishElement(bytes.count) }
            batch.problems.append(RecordProblem(file: file, line: line, reason: "the JSON array is not closed (file truncated?)"))
        } else if bytes[(i + 1)...].contains(where: { !isSpace($0) }) {
            batch.problems.append(RecordProblem(file: file, line: line, reason: "text after the end of the JSON array"))
        }
        return batch
    }

    // MARK: - Helpers

    private static func parseObject(_ data: Data) -> Result<[String: Any], RecordParseFailure> {
        do {
            let value = try JSONSerialization.jsonObject(with: data, options: [])
            guard let object = value as? [String: Any] else { return .failure(RecordParseFailure("not a JSON object")) }
            return .success(object)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "invalid JSON"
            return .failure(RecordParseFailure("not valid JSON: \(detail.prefix(160))"))
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
}

/// Why one record did not parse.
struct RecordParseFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
