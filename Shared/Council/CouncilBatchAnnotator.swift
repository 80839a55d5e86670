import DeepPrefFormats
import Events
import Foundation

/// Annotates a JSON Lines file of queries offline with any ``CouncilBackend``; the work behind
/// `cdra council annotate`.
///
/// Output: one line per annotated query, in input order: the annotation's fields
/// (`query_id`, `backend`, `inferred_preferences`, `persona_critiques`, `thought_tree`,
/// `reasoning_chain`, `aligned_answer`, `superficial_answer`, `rubric`) plus the input's `id`,
/// `question`, `preference` and `topic`. Errors file: one JSON object per line, either
/// `{"kind": "bad_input", "file", "line", "reason"}` or `{"kind": "council_failure", "line", ...}`
/// with the fields of ``CouncilFailure``. The errors file is always written (empty when nothing
/// failed), so an old one never lingers next to a clean run.
public struct CouncilBatchAnnotator: Sendable {
    public var backend: any CouncilBackend
    /// Queries annotated at the same time. Default: 4.
    public var concurrency: Int

    public init(backend: any CouncilBackend, concurrency: Int = 4) {
        precondition(concurrency >= 1, "concurrency must be at least 1")
        self.backend = backend
        self.concurrency = concurrency
    }

    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var failed: Int
    }

    public struct Summary: Sendable, Equatable {
        /// Records read from the input (bad lines excluded).
        public var queries: Int
        public var annotated: Int
        public var failedQueries: Int
        public var badLines: Int
        public var seconds: Double
        public var succeeded: Bool { failedQueries == 0 && badLines == 0 }
    }

    public func run(input: URL, output: URL, errors: URL,
                    progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Summary {
        let started = Date()
        let raw = JSONRecordReader.read(input)
        var problems = raw.problems
        let stem = input.deletingPathExtension().lastPathComponent
        var queries: [(line: Int, query: QuerySubmitted)] = []
        var seen: [String: Int] = [:]
        for record in raw.records {
            do {
                let query = try CouncilBatchInput.query(from: record, fileStem: stem)
                if let first = seen[query.queryID] {
                    problems.append(RecordProblem(file: input.path, line: record.line,
                                                  reason: "duplicate id '\(query.queryID)' (first on line \(first))"))
                    continue
                }
                seen[query.queryID] = record.line
                queries.append((record.line, query))
            } catch {
                problems.append(RecordProblem(file: input.path, line: record.line, reason: "\(error)"))
            }
        }

        // Lines are written as soon as every earlier line is done, so a long run that is
        // interrupted keeps what it finished, and the output stays in input order.
        let outputFile = try OrderedLineWriter(url: output)
        let errorFile = try OrderedLineWriter(url: errors)
        defer { outputFile.close(); errorFile.close() }
        for problem in problems {
            errorFile.write(jsonLine(["kind": "bad_input", "file": problem.file, "line": problem.line, "reason": problem.reason]))
        }
        var finished = [Result<CouncilAnnotation, CouncilFailure>?](repeating: nil, count: queries.count)
        var nextToWrite = 0
        var done = 0
        var failed = 0
        let backend = self.backend
        func flush() throws {
            while nextToWrite < queries.count, let result = finished[nextToWrite] {
                let entry = queries[nextToWrite]
                switch result {
                case .success(let annotation):
                    outputFile.write(jsonLine(try Self.outputObject(query: entry.query, annotation: annotation)))
                case .failure(let failure):
                    var object = try jsonObject(failure)
                    object["kind"] = "council_failure"
                    object["line"] = entry.line
                    errorFile.write(jsonLine(object))
                }
                finished[nextToWrite] = nil
                nextToWrite += 1
            }
        }
        try await withThrowingTaskGroup(of: (Int, Result<CouncilAnnotation, CouncilFailure>).self) { group in
            var next = 0
            while next < min(concurrency, queries.count) {
                let (i, query) = (next, queries[next].query)
                group.addTask { (i, await backend.annotateWithFailureRecord(query)) }
                next += 1
            }
            for try await (i, result) in group {
                finished[i] = result
                done += 1
                if case .failure = result { failed += 1 }
                try flush()
                progress?(Progress(done: done, total: queries.count, failed: failed))
                if next < queries.count {
                    let (j, query) = (next, queries[next].query)
                    group.addTask { (j, await backend.annotateWithFailureRecord(query)) }
                    next += 1
                }
            }
        }
        try outputFile.finish()
        try errorFile.finish()
        return Summary(queries: queries.count, annotated: queries.count - failed, failedQueries: failed,
                       badLines: problems.count, seconds: Date().timeIntervalSince(started))
    }

    /// The annotation's fields plus the input's `id`, `question`, `preference` and `topic`.
    public static func outputObject(query: QuerySubmitted, annotation: CouncilAnnotation) throws -> [String: Any] {
        var object = try jsonObject(annotation)
        object["id"] = query.queryID
        object["question"] = query.question
        if !query.profile.statedPreference.isEmpty { object["preference"] = query.profile.statedPreference }
        if let topic = query.topic { object["topic"] = topic }
        if !query.hiddenPreferences.isEmpty { object["hidden_preferences"] = query.hiddenPreferences }
        return object
    }

}

private func jsonObject<Value: Encodable>(_ value: Value) throws -> [String: Any] {
    let data = try EventCodec.makeEncoder().encode(value)
    return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
}

private func jsonLine(_ object: [String: Any]) -> String {
    // Keys sorted, slashes unescaped: the same look as EventCodec's encoder.
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
        return "{\"kind\":\"unencodable\"}"
    }
    return String(decoding: data, as: UTF8.self)
}

/// Appends lines to a file it truncates on open; remembers the first write error.
private final class OrderedLineWriter {
    private let handle: FileHandle
    private let url: URL
    private var failure: (any Error)?

    init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        self.url = url
        self.handle = try FileHandle(forWritingTo: url)
    }

    func write(_ line: String) {
        guard failure == nil else { return }
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch { failure = error }
    }

    func finish() throws {
        if let failure { throw failure }
        try handle.synchronize()
    }

    func close() { try? handle.close() }
}
