import ChatCompletionsTesting
import Council
import DeepPrefTesting
import Events
import Foundation
import Testing

/// A council that answers from the question alone, so the batch runner can be tested without a
/// model: questions containing "FAIL" throw, the others get a one-step annotation.
struct EchoCouncil: CouncilBackend {
    var name: String { "echo" }
    func annotate(_ query: QuerySubmitted) async throws -> CouncilAnnotation {
        // Later lines finish first, so the runner must restore input order itself.
        let delay = UInt64(max(0, 40 - query.question.count % 40)) * 1_000_000
        try await Task.sleep(nanoseconds: delay)
        if query.question.contains("FAIL") { throw CouncilError(.invalidModelOutput, "scripted failure") }
        return CouncilAnnotation(
            queryID: query.queryID, backend: name, inferredPreferences: [], personaCritiques: [], thoughtTree: [],
            reasoningChain: [ReasoningStep(index: 1, stage: "surface_request", text: query.question, critique: "c", score: 0.5)],
            alignedAnswer: "aligned", superficialAnswer: "superficial", rubric: [])
    }
}

/// Runs a process off the cooperative pool and returns its status and stderr.
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String]) async throws -> (status: Int32, stderr: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            do {
                let process = Process()
                process.executableURL = executable
                process.arguments = arguments
                process.environment = environment
                let errorPipe = Pipe()
                process.standardError = errorPipe
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                let data = errorPipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

func readLines(_ url: URL) throws -> [[String: Any]] {
    try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
}

@Suite(.serialized) struct CouncilBatchAnnotatorTests {
    @Test func outputKeepsInputOrderAndFailuresGoToTheErrorsFile() async throws {
        let input = try temporaryFile("queries.jsonl", [
            #"{"question": "short one", "id": "a"}"#,
            #"{"question": "this one should FAIL", "id": "b"}"#,
            #"{"question": "a somewhat longer question here", "preference": "I like tea.", "topic": "Home Cooking"}"#,
            #"{"preference": "no question"}"#,
            #"{"question": "duplicate", "id": "a"}"#,
            #"{"question": "x", "id": 7}"#,
        ].joined(separator: "\n") + "\n")
        let output = input.deletingLastPathComponent().appendingPathComponent("out.jsonl")
        let errors = input.deletingLastPathComponent().appendingPathComponent("out.jsonl.errors")
        let counter = ProgressCounter()

        let summary = try await CouncilBatchAnnotator(backend: EchoCouncil(), concurrency: 3)
            .run(input: input, output: output, errors: errors, progress: { counter.add($0) })

        #expect(summary.queries == 4)
        #expect(summary.annotated == 3)
        #expect(summary.failedQueries == 1)
        #expect(summary.badLines == 2)
        #expect(!summary.succeeded)
        #expect(counter.count == 4)
        let lines = try readLines(output)
        #expect(lines.map { $0["id"] as? String } == ["a", "queries-3", "7"])
        #expect(lines[1]["preference"] as? String == "I like tea.")
        #expect(lines[1]["topic"] as? String == "Home Cooking")
        for key in ["inferred_preferences", "persona_critiques", "thought_tree", "reasoning_chain", "aligned_answer",
                    "superficial_answer", "rubric", "backend", "question"] {
            #expect(lines[0][key] != nil, "missing \(key)")
        }
        let errorLines = try readLines(errors)
        #expect(errorLines.count == 3)
        let bad = errorLines.filter { $0["kind"] as? String == "bad_input" }
        #expect(bad.map { $0["line"] as? Int } == [4, 5])
        #expect((bad[0]["reason"] as? String ?? "").contains("question"))
        #expect((bad[1]["reason"] as? String ?? "").contains("duplicate id 'a'"))
        let failure = try #require(errorLines.first { $0["kind"] as? String == "council_failure" })
        #expect(failure["query_id"] as? String == "b")
        #expect(failure["line"] as? Int == 2)
        #expect(failure["code"] as? String == "invalidModelOutput")
        #expect(failure["backend"] as? String == "echo")
    }

    /// The built `cdra` binary, next to the test bundle.
    static var cdraBinary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cdra")
    }

    @Test func cdraCouncilAnnotateRunsEndToEndAgainstTheChatServer() async throws {
        let binary = Self.cdraBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build cdra first: \(binary.path)")
        let server = try await ChatServerFixture.start(routes: [
            ("POISON", [["content": "I cannot help with that."]]),
            ("You are the moderator", [["content": CouncilFixtures.moderatorReply]]),
        ] + CouncilFixtures.personaRoutes, requireKey: CouncilFixtures.apiKey)
        defer { server.stop() }
        let input = try temporaryFile("queries.jsonl", [
            #"{"id": "q1", "question": "How do I let my family know where I am without constantly calling?"}"#,
            #"{"question": "Where am I? Let them know where I am without constantly calling.", "preference": "I travel alone.", "topic": "Personal Safety"}"#,
            #"{"question": "broken"#,
            #"{"id": "q4", "question": "POISON: let them know where I am without constantly calling"}"#,
        ].joined(separator: "\n") + "\n")
        let output = input.deletingLastPathComponent().appendingPathComponent("annotations.jsonl")
        let environment = [
            "CDRA_LLM_BASE_URL": server.baseURL.absoluteString, "CDRA_LLM_MODEL": "test-model",
            "CDRA_LLM_API_KEY": CouncilFixtures.apiKey, "CDRA_LLM_MAX_ATTEMPTS": "2",
            "CDRA_LLM_INITIAL_BACKOFF": "0.01", "CDRA_LLM_MAX_REPAIRS": "1", "CDRA_LLM_TIMEOUT": "20",
        ]

        let run = try await runProcess(binary, ["council", "annotate", "--in", input.path, "--out", output.path,
                                                "--backend", "llm", "--concurrency", "2"], environment: environment)

        #expect(run.status == 1, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("3/3 done, 1 failed"))
        #expect(run.stderr.contains("2 annotated, 1 failed, 1 bad input lines"))
        #expect(!run.stderr.contains(CouncilFixtures.apiKey))
        let lines = try readLines(output)
        #expect(lines.map { $0["id"] as? String } == ["q1", "queries-2"])
        #expect(lines.allSatisfy { $0["backend"] as? String == "llm:test-model" })
        #expect(lines.allSatisfy { ($0["reasoning_chain"] as? [Any])?.count == 5 })
        #expect(lines[1]["preference"] as? String == "I travel alone.")
        let critiques = try #require(lines[0]["persona_critiques"] as? [[String: Any]])
        #expect(critiques.contains { $0["quoted_cue"] as? String == "without constantly calling" })
        let errorsURL = URL(fileURLWithPath: output.path + ".errors")
        let errorsText = try String(contentsOf: errorsURL, encoding: .utf8)
        #expect(!errorsText.contains(CouncilFixtures.apiKey))
        let errorLines = try readLines(errorsURL)
        #expect(errorLines.count == 2)
        #expect(errorLines.contains { $0["kind"] as? String == "bad_input" && $0["line"] as? Int == 3 })
        let failure = try #require(errorLines.first { $0["kind"] as? String == "council_failure" })
        #expect(failure["query_id"] as? String == "q4")
        #expect(failure["code"] as? String == "invalidModelOutput")
        #expect((failure["stage"] as? String ?? "").hasPrefix("persona:"))
        #expect(failure["last_raw_output"] as? String == "I cannot help with that.")

        // Only good lines: exit status 0 and an empty errors file.
        let clean = try temporaryFile("clean.jsonl", #"{"question": "How do I let them know where I am without constantly calling?"}"# + "\n")
        let cleanOut = clean.deletingLastPathComponent().appendingPathComponent("clean.out.jsonl")
        let second = try await runProcess(binary, ["council", "annotate", "--in", clean.path, "--out", cleanOut.path,
                                                   "--backend", "llm", "--errors", cleanOut.path + ".err"], environment: environment)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(try readLines(cleanOut).count == 1)
        #expect(try String(contentsOf: URL(fileURLWithPath: cleanOut.path + ".err"), encoding: .utf8).isEmpty)

        // No endpoint configured: a clear configuration error, non-zero exit.
        let third = try await runProcess(binary, ["council", "annotate", "--in", clean.path, "--out", cleanOut.path,
                                                  "--backend", "llm"], environment: [:])
        #expect(third.status != 0)
        #expect(third.stderr.contains("CDRA_LLM_BASE_URL"))
    }
}

final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = 0
    func add(_ progress: CouncilBatchAnnotator.Progress) { lock.lock(); seen += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return seen }
}
