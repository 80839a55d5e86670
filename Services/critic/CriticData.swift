import ArgumentParser
import Critique
import DeepPref
import Events
import Foundation
import Resilience
import OracleJudge
import RewardModel
import ServiceRuntime
import Store

/// Loading the annotated queries and building the labelled PRM corpus, shared by the commands.
enum CriticData {
    /// The council backend whose annotations the PRM learns from.
    static let annotationBackend = "builtin"

    static func annotatedQueries(_ database: Database, split: String, limit: Int? = nil) async throws -> [AnnotatedQuery] {
        try await database.withConnection { connection in
            try AnnotationRepository(connection).annotatedQueries(backend: annotationBackend, split: split, limit: limit)
        }
    }

    /// The checkpoint named by `id`, or the newest of `target`; an error saying what to do when
    /// there is none.
    static func checkpoint(_ id: String?, target: PRMTarget, database: Database) async throws -> CheckpointRecord {
        let record = try await database.withConnection { connection -> CheckpointRecord? in
            let repo = CheckpointRepository(connection)
            if let id { return try repo.load(id) }
            return try repo.latest(modelKind: "prm", configContains: PRMTrainingConfig.checkpointFilter(target: target), newest: true)
        }
        guard let record else {
            throw ValidationError(id.map { "no checkpoint '\($0)'" }
                                  ?? "no \(target.rawValue) checkpoint stored; train one with `critic train --target \(target.rawValue)`")
        }
        return record
    }

    /// Stores the corpus's responses and their oracle labels (idempotent by response id, and by
    /// request id `oracle-label:<response id>` in `critiques`, backend `oracle`); returns how many
    /// of each were new.
    static func store(_ examples: [PRMExample], database: Database) async throws -> (responses: Int, labels: Int) {
        var responses = 0, labels = 0
        for chunk in stride(from: 0, to: examples.count, by: 2000).map({ Array(examples[$0..<min(examples.count, $0 + 2000)]) }) {
            let records = chunk.map { e in
                ResponseRecord(responseID: e.responseID, queryID: e.queryID, origin: e.variant.origin, text: e.variant.text,
                               steps: ResponseLayout.lines(steps: e.variant.steps, answer: e.variant.answer))
            }
            let rows = chunk.map { e in
                (produced: labelReply(e), sourceEventID: UUID?.none)
            }
            let (r, l) = try await database.withConnection { connection in
                (try ResponseRepository(connection).store(records), try CritiqueRepository(connection).store(rows, backend: "oracle"))
            }
            responses += r
            labels += l
        }
        return (responses, labels)
    }

    /// The oracle's label of an example as a stored critique.
    static func labelReply(_ e: PRMExample) -> CritiqueProduced {
        var request = e.request
        request.requestID = labelRequestID(e.responseID)
        return CritiqueOutcome.scored(e.label, text: e.label.text, attempts: 1).produced(for: request, checkpointID: nil)
    }

    static func labelRequestID(_ responseID: String) -> String { "oracle-label:" + responseID }

    /// Runs `body`, trying again (with the shared backoff, up to 5 attempts) while it throws an
    /// error that says retrying may help, e.g. a database connection lost to a server restart: a
    /// finished training run must not be lost to one dropped connection.
    static func retrying<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        try await ServiceRuntime.retrying(what, log: { print("critic: \($0)") }, body)
    }

    /// Progress lines reach a log file as they are printed, not when a buffer fills.
    static func lineBufferedOutput() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }

    /// Counts of examples by origin, for the logs.
    static func summary(_ examples: [PRMExample]) -> String {
        var counts: [String: Int] = [:]
        for e in examples { counts[e.variant.origin, default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
