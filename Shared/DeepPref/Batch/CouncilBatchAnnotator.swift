import Foundation
import Events

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

        var results = [Result<CouncilAnnotation, CouncilFailure>?](repeating: nil, count: queries.count)
        var done = 0
        var failed = 0
        let backend = self.backend
        await withTaskGroup(of: (Int, Result<CouncilAnnotation, CouncilFailure>).self) { group in
            var next = 0
            while next < min(concurrency, queries.count) {
                let (i, query) = (next, queries[next].query)
                group.addTask { (i, await backend.annotateWithFailureRecord(query)) }
                next += 1
            }
            for await (i, result) in group {
                results[i] = result
                done += 1
                if case .failure = result { failed += 1 }
                progress?(Progress(done: done, total: queries.count, failed: failed))
                if next < queries.count {
                    let (j, query) = (next, queries[next].query)
                    group.addTask { (j, await backend.annotateWithFailureRecord(query)) }
                    next += 1
                }
            }
        }

        var outputText = ""
        var errorText = ""
        for problem in problems {
            errorText += jsonLine(["kind": "bad_input", "file": problem.file, "line": problem.line, "reason": problem.reason]) + "\n"
        }
        for (i, entry) in queries.enumerated() {
            switch results[i] {
            case .success(let annotation)?:
                outputText += try outputLine(query: entry.query, annotation: annotation) + "\n"
            case .failure(let failure)?:
                var object = try jsonObject(failure)
                object["kind"] = "council_failure"
                object["line"] = entry.line
                errorText += jsonLine(object) + "\n"
            case nil:
                errorText += jsonLine(["kind": "council_failure", "line": entry.line, "query_id": entry.query.queryID,
                                       "reason": "not annotated (cancelled)"]) + "\n"
            }
        }
        try Data(outputText.utf8).write(to: output, options: .atomic)
        try Data(errorText.utf8).write(to: errors, options: .atomic)
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

    private func outputLine(query: QuerySubmitted, annotation: CouncilAnnotation) throws -> String {
        jsonLine(try Self.outputObject(query: query, annotation: annotation))
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
