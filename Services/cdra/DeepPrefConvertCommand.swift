import ArgumentParser
import Council
import DeepPrefFormats
import Events
import Foundation

/// `cdra deeppref export` / `cdra deeppref import`: the published DeepPref record shapes to and from
/// our annotation JSONL (the output of `cdra council annotate`).
enum PublishedFormat: String, ExpressibleByArgument, CaseIterable {
    /// `{initial_question, user_profile, thought_tree}` with node ids mapping to
    /// `{thought, reasoning, score, children}`, root "0".
    case raw
    /// `{idx, question, preference, process, label, final_score}` with "Step k: ..." steps.
    case rm
}

/// What both conversions take: where from, which published shape, where to.
struct ConversionOptions: ParsableArguments {
    @Option(name: .customLong("in"), help: "Input: annotation JSONL (export) or published records, a JSON array or JSON Lines (import).")
    var input: String

    @Option(help: "raw (thought trees) or rm (reward-model records).")
    var format: PublishedFormat

    @Option(help: "Output: a JSON array of published records (export) or annotation JSONL (import).")
    var out: String
}

struct DeepPrefExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write annotations (cdra council annotate output) as published DeepPref records (a JSON array).")

    @OptionGroup var conversion: ConversionOptions

    func run() throws {
        let (input, format, out) = (conversion.input, conversion.format, conversion.out)
        let read = AnnotatedQueryLines.read(input)
        for problem in read.problems { StandardError.write("\(problem)") }
        let records: [[String: Any]] = read.pairs.map { query, annotation in
            switch format {
            case .raw: return DeepPrefRawRecord(query: query, annotation: annotation).jsonObject()
            case .rm: return DeepPrefRewardRecord(query: query, annotation: annotation).jsonObject()
            }
        }
        let data = try JSONSerialization.data(withJSONObject: records, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: out))
        StandardError.write("wrote \(records.count) \(format.rawValue) records to \(out)")
        if !read.problems.isEmpty {
            throw ValidationError("\(read.problems.count) bad line(s) in \(input) were skipped (listed above)")
        }
    }
}

struct DeepPrefImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read published DeepPref records (raw or rm) into annotation JSONL.")

    @OptionGroup var conversion: ConversionOptions

    func run() throws {
        let (input, format, out) = (conversion.input, conversion.format, conversion.out)
        let url = URL(fileURLWithPath: input)
        let pairs: [(QuerySubmitted, CouncilAnnotation)]
        let problems: [RecordProblem]
        switch format {
        case .raw:
            let batch = DeepPrefRawRecord.read(url)
            pairs = batch.records.map { $0.toQueryAndAnnotation() }
            problems = batch.problems
        case .rm:
            let batch = DeepPrefRewardRecord.read(url)
            pairs = batch.records.map { $0.toQueryAndAnnotation() }
            problems = batch.problems
        }
        for problem in problems { StandardError.write("\(problem)") }
        var text = ""
        for (query, annotation) in pairs {
            let object = try CouncilBatchAnnotator.outputObject(query: query, annotation: annotation)
            let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            text += String(decoding: line, as: UTF8.self) + "\n"
        }
        try text.write(to: URL(fileURLWithPath: out), atomically: true, encoding: .utf8)
        StandardError.write("wrote \(pairs.count) annotations to \(out)")
        if !problems.isEmpty {
            throw ValidationError("\(problems.count) bad record(s) in \(input) were skipped (listed above)")
        }
    }
}

/// Lines of `cdra council annotate` output: the annotation's fields plus the query's.
enum AnnotatedQueryLines {
    static func read(_ path: String) -> (pairs: [(QuerySubmitted, CouncilAnnotation)], problems: [RecordProblem]) {
        let url = URL(fileURLWithPath: path)
        let raw = JSONRecordReader.read(url, file: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let decoder = EventCodec.makeDecoder()
        var pairs: [(QuerySubmitted, CouncilAnnotation)] = []
        var problems = raw.problems
        for record in raw.records {
            do {
                let annotation = try decoder.decode(CouncilAnnotation.self, from: record.bytes)
                var query = try CouncilBatchInput.query(from: record, fileStem: stem)
                query.queryID = annotation.queryID
                pairs.append((query, annotation))
            } catch {
                problems.append(RecordProblem(file: path, line: record.line, reason: EventCodec.describe(error)))
            }
        }
        return (pairs, problems)
    }
}
