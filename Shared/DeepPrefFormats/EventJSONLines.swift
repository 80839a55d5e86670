import Events
import Foundation

/// Our own JSON Lines: one event payload (``QuerySubmitted``, ``CouncilAnnotation``,
/// ``AnnotationProduced``, ...) per line, snake_case, encoded with `EventCodec.makeEncoder()`.
public enum EventJSONLines {
    /// One line (no trailing newline) with the events' JSON settings.
    public static func line<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try EventCodec.makeEncoder().encode(value), as: UTF8.self)
    }

    /// Writes one value per line, replacing the file.
    public static func write<Value: Encodable>(_ values: [Value], to url: URL) throws {
        var text = ""
        for value in values { text += try line(value) + "\n" }
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    public static func readQueries(_ url: URL) -> RecordBatch<QuerySubmitted> {
        read(url, as: QuerySubmitted.self) { $0.validationProblems() }
    }

    public static func readAnnotations(_ url: URL) -> RecordBatch<CouncilAnnotation> {
        read(url, as: CouncilAnnotation.self) { _ in [] }
    }

    /// Decodes every line as `Value`; lines that do not decode or whose values have problems are
    /// reported with their line number.
    public static func read<Value: Decodable>(_ url: URL, as type: Value.Type = Value.self,
                                              problems: (Value) -> [String]) -> RecordBatch<Value> {
        let raw = JSONRecordReader.read(url)
        var batch = RecordBatch<Value>(problems: raw.problems)
        let decoder = EventCodec.makeDecoder()
        for record in raw.records {
            do {
                let value = try decoder.decode(Value.self, from: record.bytes)
                let found = problems(value)
                if found.isEmpty { batch.records.append(value) }
                else { batch.problems.append(RecordProblem(file: url.path, line: record.line, reason: found.joined(separator: "; "))) }
            } catch {
                batch.problems.append(RecordProblem(file: url.path, line: record.line, reason: EventCodec.describe(error)))
            }
        }
        return batch
    }
}
