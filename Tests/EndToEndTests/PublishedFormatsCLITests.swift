import Foundation
import Testing

/// `cdra deeppref export` and `import`: annotations to the published DeepPref record shapes and back.
@Suite("published DeepPref formats through the CLI")
struct PublishedFormatsCLITests {
    @Test("raw and reward-model records survive export → import → export unchanged", arguments: ["raw", "rm"])
    func exportImportExportIsStable(format: String) throws {
        let cdra = EndToEndContext.binDirectory.appendingPathComponent("cdra").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("formats-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

        #expect(try ChildProcess.runToCompletion(cdra, ["deeppref", "build", "--pairs", "200", "--seed", "5", "--out", path("pairs.jsonl")]) == 0)
        let lines = try String(contentsOfFile: path("pairs.jsonl"), encoding: .utf8).split(separator: "\n").prefix(25)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path("queries.jsonl"), atomically: true, encoding: .utf8)
        #expect(try ChildProcess.runToCompletion(cdra, ["council", "annotate", "--in", path("queries.jsonl"), "--out", path("annotations.jsonl")]) == 0)

        #expect(try ChildProcess.runToCompletion(cdra, ["deeppref", "export", "--in", path("annotations.jsonl"), "--format", format, "--out", path("first.json")]) == 0)
        #expect(try ChildProcess.runToCompletion(cdra, ["deeppref", "import", "--in", path("first.json"), "--format", format, "--out", path("imported.jsonl")]) == 0)
        #expect(try ChildProcess.runToCompletion(cdra, ["deeppref", "export", "--in", path("imported.jsonl"), "--format", format, "--out", path("second.json")]) == 0)

        let first = try Data(contentsOf: URL(fileURLWithPath: path("first.json")))
        let second = try Data(contentsOf: URL(fileURLWithPath: path("second.json")))
        #expect(first == second)
        let records = try #require(try JSONSerialization.jsonObject(with: first) as? [[String: Any]])
        #expect(records.count == 25)
        let required = format == "raw" ? ["initial_question", "user_profile", "thought_tree"]
                                       : ["idx", "question", "preference", "process", "label", "final_score"]
        for record in records { #expect(Set(record.keys).isSuperset(of: required)) }
    }

    @Test("a bad line is reported with its line number and the good ones are still exported")
    func badLinesAreReportedNotLost() throws {
        let cdra = EndToEndContext.binDirectory.appendingPathComponent("cdra").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("formats-bad-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = dir.appendingPathComponent("q.jsonl").path
        try "{\"id\": \"a\", \"question\": \"How do I share my location without being tracked all the time?\"}\n"
            .write(toFile: queries, atomically: true, encoding: .utf8)
        let annotations = dir.appendingPathComponent("a.jsonl").path
        #expect(try ChildProcess.runToCompletion(cdra, ["council", "annotate", "--in", queries, "--out", annotations]) == 0)
        var text = try String(contentsOfFile: annotations, encoding: .utf8)
        text += "{\"question\": \"no annotation here\"}\n"
        try text.write(toFile: annotations, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("raw.json").path
        #expect(try ChildProcess.runToCompletion(cdra, ["deeppref", "export", "--in", annotations, "--format", "raw", "--out", out]) != 0)
        let records = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [[String: Any]]
        #expect(records?.count == 1)
    }
}
