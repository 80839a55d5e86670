import Foundation
import Store
import Testing

/// The DeepPref benchmark streamed through the CLI and two council-generator replicas.
@Suite("DeepPref benchmark through the stack")
struct DeepPrefPipelineEndToEndTests {
    @Test("3000 benchmark queries through two replicas are annotated exactly once each; no lag afterwards")
    func benchmarkIsAnnotatedExactlyOnce() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let cdra = EndToEndContext.binDirectory.appendingPathComponent("cdra").path
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deeppref-\(context.suffix).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }

        let build = try ChildProcess.runToCompletion(
            cdra, ["deeppref", "build", "--pairs", "3000", "--seed", "11", "--out", file], environment: context.childEnvironment)
        #expect(build == 0)

        let replicas = [try context.startCouncilGenerator("r1"), try context.startCouncilGenerator("r2")]
        let start = Date()
        let submit = try ChildProcess.runToCompletion(
            cdra, ["submit", file, "--topic", context.queriesTopic, "--wait-for", "council-generator", "--timeout", "600"],
            environment: context.childEnvironment)
        let seconds = Date().timeIntervalSince(start)
        #expect(submit == 0)
        print(String(format: "DeepPref end to end: 3000 queries annotated in %.1f s (%.0f queries/s) by two replicas", seconds, 3000 / seconds))

        #expect(try await context.count(database, "SELECT count(*) FROM queries") == 3000)
        #expect(try await context.count(database, "SELECT count(*) FROM annotations") == 3000)
        #expect(try await context.count(database, "SELECT count(*) FROM (SELECT query_id FROM annotations GROUP BY query_id HAVING count(*) > 1) d") == 0)
        #expect(try await context.count(database, "SELECT count(*) FROM processed_events WHERE consumer = 'council-generator'") == 3000)
        // Both replicas took part.
        for replica in replicas { #expect(replica.log.contains("event processor started")) }

        let statusLog = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(context.suffix).txt").path
        let status = try ChildProcess.runToCompletion(
            "/bin/sh", ["-c", "\"$0\" status --group \"$1\" --topic \"$2\" > \"$3\" 2>&1", cdra, context.group, context.queriesTopic, statusLog],
            environment: context.childEnvironment)
        let statusText = (try? String(contentsOfFile: statusLog, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: statusLog)
        #expect(status == 0, "cdra status failed: \(statusText)")
        #expect(statusText.contains("total lag: 0"), "cdra status: \(statusText)")
        for replica in replicas { #expect(replica.terminate() == 0) }
    }
}
