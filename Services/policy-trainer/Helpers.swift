import Critique
import DeepPref
import Events
import Foundation
import OracleJudge
import PolicyTraining
import ServiceRuntime
import Store
import Tensor

/// The step oracle as an in-process critic, its annotations from PostgreSQL.
enum OracleCriticBackend {
    static func make(database: Database) -> OracleCritic {
        OracleCritic(pack: try! KnowledgePack.builtin()) { queryIDs in
            try await database.withConnection { connection in
                try AnnotationRepository(connection).annotatedQueries(backend: PolicyData.annotationBackend, byID: queryIDs)
            }
        }
    }
}

/// The critic's refresh path (`critic refresh`) as the guard calls it: oracle-labelled policy
/// samples, the PRM fine-tuned from the checkpoint the run is scored with (the newest when the run
/// has named none), the new checkpoint stored and announced (critics reload it). Returns the new
/// checkpoint's id.
struct PRMRefresher {
    var executable: URL
    var samples: Int
    var database: Database

    func refresh(number: Int, from checkpoint: String?, log: (String) -> Void) async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TrainerFailure("the PRM refresh needs the critic executable, not found at \(executable.path) (pass --critic-executable)")
        }
        let logURL = URL(fileURLWithPath: "bench-results/logs/critic-refresh-\(number)-\(getpid()).log")
        log("refresh \(number): running \(executable.lastPathComponent) refresh (log \(logURL.path))")
        let process = try LoggedProcess.start(executable: executable,
                                              arguments: ["refresh", "--origin", "policy", "--samples", "\(samples)", "--threads", "1"]
                                                  + (checkpoint.map { ["--checkpoint", $0] } ?? []),
                                              environment: ProcessInfo.processInfo.environment, logURL: logURL)
        while process.isRunning { try await Task.sleep(for: .milliseconds(200)) }
        guard process.terminationStatus == 0 else {
            let tail = ((try? String(contentsOf: logURL, encoding: .utf8)) ?? "").suffix(1_500)
            throw TrainerFailure("the PRM refresh failed (exit \(process.terminationStatus)); log \(logURL.path):\n\(tail)")
        }
        // The id this refresh stored, from its log ("checkpoint <id> (parent <id>) stored"): another
        // run's refresh may have finished meanwhile, so "the newest" could be someone else's.
        let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        guard let line = log.split(separator: "\n").last(where: { $0.contains(") stored") && $0.contains("checkpoint ") }),
              let range = line.range(of: #"checkpoint (\S+) \(parent"#, options: .regularExpression) else {
            throw TrainerFailure("the PRM refresh finished but its log names no stored checkpoint (\(logURL.path))")
        }
        let id = line[range].dropFirst("checkpoint ".count).dropLast(" (parent".count)
        guard try await database.withConnection({ try CheckpointRepository($0).modelKind(of: String(id)) }) == "prm" else {
            throw TrainerFailure("the PRM refresh reported checkpoint \(id), which is not a stored PRM checkpoint")
        }
        return String(id)
    }
}

struct TrainerFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `critic serve` child processes (one thread each) consuming `requestsTopic` in one group, for the
/// benchmark and the study; logs in bench-results/logs/<name>-critic-<i>.log.
final class CriticReplicas {
    let processes: [Process]

    init(executable: String?, backend: String, count: Int, group: String, requestsTopic: String, name: String) throws {
        let critic = executable.map { URL(fileURLWithPath: $0) } ?? TrainCommand.sibling("critic")
        processes = try (0..<count).map { i in
            try LoggedProcess.start(executable: critic, arguments: [
                "serve", "--backend", backend, "--group", group, "--replica-id", "\(group)-\(i)",
                "--requests-topic", requestsTopic, "--http-port", "-1", "--threads", "1"],
                environment: ProcessInfo.processInfo.environment,
                logURL: URL(fileURLWithPath: "bench-results/logs/\(name)-critic-\(i).log"))
        }
    }

    /// Throws when a replica has exited.
    func checkAlive() throws {
        if let dead = processes.first(where: { !$0.isRunning }) {
            throw TrainerFailure("a critic replica exited with status \(dead.terminationStatus); logs in bench-results/logs")
        }
    }

    /// SIGTERM to each, then wait for them.
    func stop() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }
}

/// What every policy-trainer command does first: line-buffered output, logging, BLAS threads, the
/// resolved configuration, the database, migrated.
struct CommandSetup {
    let config: PolicyTrainingConfig
    let database: Database

    init(service: String, options: ServiceOptions, policy: PolicyOptions, threads: Int) async throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        ServiceLogging.bootstrap(service: service, options: options)
        BLAS.setThreadCount(threads)
        config = try policy.resolved()
        database = Database(configuration: options.databaseConfiguration(applicationName: service))
        try await Migrator.migrate(database)
    }
}
