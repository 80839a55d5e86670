import ArgumentParser
import Council
import Foundation
import Resilience

/// `cdra council ...`: run the Cognitive Council without the stack.
struct CouncilCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "council",
        abstract: "Run the Cognitive Council offline.",
        subcommands: [CouncilAnnotateCommand.self, CouncilCalibrateCommand.self, CouncilMeasureCommand.self])
}

/// `cdra council annotate --in QUERIES.jsonl --out ANNOTATIONS.jsonl`.
struct CouncilAnnotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Annotate a JSON Lines file of queries with the council.",
        discussion: """
            Input lines need only "question"; "preference", "topic" and "id" are optional (a full \
            query_submitted payload is also accepted). Output lines add inferred_preferences, \
            persona_critiques, thought_tree, reasoning_chain, aligned_answer, superficial_answer and \
            rubric. Bad input lines and failed queries go to the errors file with the reason; the \
            command then exits with status 1.
            """)

    @Option(name: .customLong("in"), help: "JSON Lines file of queries.")
    var input: String

    @Option(name: .customLong("out"), help: "Where to write the annotations (JSON Lines).")
    var output: String

    @Option(help: "Where to write failures (default: <out>.errors).")
    var errors: String?

    @Option(help: "Council backend: builtin, situated or llm.")
    var backend: CouncilBackendName = .builtin

    @Option(help: "Queries annotated at the same time.")
    var concurrency: Int = 4

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 256 else { throw ValidationError("--concurrency must be in 1...256") }
        guard FileManager.default.fileExists(atPath: input) else { throw ValidationError("no such file: \(input)") }
    }

    func run() async throws {
        let council = try backend.makeBackend()
        let errorsPath = errors ?? output + ".errors"
        let annotator = CouncilBatchAnnotator(backend: council, concurrency: concurrency)
        standardError("council annotate: backend \(council.name), concurrency \(concurrency), input \(input)")
        let reporter = ProgressReporter()
        let summary = try await annotator.run(
            input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output),
            errors: URL(fileURLWithPath: errorsPath), progress: { reporter.report($0) })
        let rate = summary.seconds > 0 ? Double(summary.queries) / summary.seconds : 0
        standardError(String(format: "council annotate: %d annotated, %d failed, %d bad input lines in %.1fs (%.2f queries/s)",
                             summary.annotated, summary.failedQueries, summary.badLines, summary.seconds, rate))
        if !summary.succeeded {
            standardError("council annotate: failures are in \(errorsPath)")
            throw ExitCode(1)
        }
    }
}

/// Prints progress to stderr at most once a second, and always the last one.
private final class ProgressReporter: Sendable {
    private let last = Locked(Date.distantPast)

    func report(_ progress: CouncilBatchAnnotator.Progress) {
        last.withLock { last in
            let now = Date()
            guard progress.done == progress.total || now.timeIntervalSince(last) >= 1 else { return }
            last = now
            standardError("council annotate: \(progress.done)/\(progress.total) done, \(progress.failed) failed")
        }
    }
}

func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
