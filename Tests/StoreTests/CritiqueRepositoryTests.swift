import Events
import EventsTesting
import Foundation
import Store
import Testing

@Suite("critique repository")
struct CritiqueRepositoryTests {
    /// One reply of each status, with every field the status allows set, and scores that a
    /// single-precision column would not keep.
    static func replies(_ prefix: String = "req") -> [CritiqueProduced] {
        var ok = CritiqueProduced.sample
        ok.requestID = "\(prefix)-ok"
        ok.stepVerdicts[0].score = 0.123456789012345
        ok.finalScore = -0.987654321098765
        ok.critiqueText = "Step 1: \"quoted\", tab\tand newline\nStep 2: ünïcödé Score: -0.6"
        let malformed = CritiqueProduced(
            requestID: "\(prefix)-malformed", responseID: "resp-2", criticCheckpointID: "ckpt-prm-40", status: .malformed,
            critiqueText: "Step 1: no score here", error: "missingScore at line 1: Step 1 has no 'Score:'", attempts: 3)
        let failed = CritiqueProduced(requestID: "\(prefix)-failed", responseID: "resp-3", status: .failed,
                                      error: "deadline passed 40 ms ago")
        let answerOnly = CritiqueProduced(
            requestID: "\(prefix)-answer-only", responseID: "resp-4", status: .ok,
            answerVerdict: AnswerVerdict(critique: "direct and helpful", score: 0.25), finalScore: 0.25,
            critiqueText: "Answer: direct and helpful Score: 0.25\nFinal score: 0.25")
        return [ok, malformed, failed, answerOnly]
    }

    @Test("every status is stored and read back exactly as sent; a replay or an in-batch repeat adds nothing")
    func storesEveryStatusAndReadsItBackExactly() async throws {
        try await TestDatabase.withMigratedConnection("critiques") { c in
            let repo = CritiqueRepository(c)
            let replies = Self.replies()
            let rows = replies.map { (produced: $0, sourceEventID: Optional(UUID())) }
            // The first reply twice in one batch: one row.
            #expect(try repo.store(rows + [(produced: replies[0], sourceEventID: UUID())], backend: "prm") == 4)
            // The same request ids again (new source events): nothing.
            #expect(try repo.store(replies.map { ($0, UUID()) }, backend: "prm") == 0)
            #expect(try repo.store([], backend: "prm") == 0)

            let loaded = try repo.load(requestIDs: replies.map(\.requestID) + ["missing"])
            #expect(loaded.count == 4)
            for reply in replies { #expect(loaded[reply.requestID] == reply, "\(reply.requestID)") }

            let ok = try c.execute("SELECT status, step_scores, final_score, critic_checkpoint, critic_backend, critique_chain FROM critiques WHERE request_id = 'req-ok'")[0]
            #expect(try ok.doubleArray("step_scores") == replies[0].stepVerdicts.map(\.score))
            #expect(try ok.double("final_score") == replies[0].finalScore)
            #expect(try ok.string("critic_checkpoint") == "ckpt-prm-40" && ok.string("critic_backend") == "prm")
            let chain = try #require(try ok.json("critique_chain"))
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(chain.utf8)) as? [[String: Any]])
            #expect(entries.map { "\($0["step"]!)" } == ["1", "2", "answer"])
            // No checkpoint: the backend's name stands in the column.
            let failed = try c.execute("SELECT critic_checkpoint, final_score, step_scores, error FROM critiques WHERE request_id = 'req-failed'")[0]
            #expect(try failed.string(0) == "prm" && failed.double(1) == nil && failed.doubleArray(2) == [])
            #expect(try failed.string(3) == "deadline passed 40 ms ago")
        }
    }

    @Test("a batch of 2,000 replies is one statement and every row is kept")
    func storesBigBatches() async throws {
        try await TestDatabase.withMigratedConnection("critiques_bulk") { c in
            let replies = (0..<2_000).map { i in
                CritiqueProduced(requestID: "bulk-\(i)", responseID: "resp-\(i)", status: .ok,
                                 stepVerdicts: [StepVerdict(index: 1, critique: "step \(i)", score: Double(i % 200) / 100 - 1)],
                                 answerVerdict: AnswerVerdict(critique: "answer", score: 0.5), finalScore: 0.5)
            }
            #expect(try CritiqueRepository(c).store(replies.map { ($0, UUID()) }, backend: "oracle") == 2_000)
            let loaded = try CritiqueRepository(c).load(requestIDs: replies.map(\.requestID))
            #expect(loaded.count == 2_000)
            #expect(replies.allSatisfy { loaded[$0.requestID] == $0 })
        }
    }

    @Test("the table refuses a score without ok, ok without a score, and a failure without a reason")
    func constraintsTieTheScoreToTheStatus() async throws {
        try await TestDatabase.withMigratedConnection("critiques_checks") { c in
            let insert = """
                INSERT INTO critiques (request_id, response_id, status, critique_chain, step_scores, final_score, error)
                VALUES ($1, 'r', $2, '[]', '{}', $3, $4)
                """
            for (status, score, error) in [("ok", nil, nil), ("failed", 0.5, "x"), ("malformed", nil, nil), ("odd", nil, "x")] as [(String, Double?, String?)] {
                let refused = try #require(throws: StoreError.self) {
                    try c.execute(insert, [.text("r-\(status)-\(score ?? 9)"), .text(status), score.map { .double($0) }, error.map { .text($0) }])
                }
                #expect(refused.sqlState == "23514", "\(status): \(refused)")
            }
            #expect(throws: StoreError.self) {
                try CritiqueRepository(c).store([(CritiqueProduced(requestID: "x", responseID: "r", criticCheckpointID: "prm",
                                                                   status: .failed, error: "e"), nil)], backend: "prm")
            }
        }
    }

    @Test("v_critique_scores shows only scored critiques")
    func scoresViewCountsOnlyOkRows() async throws {
        try await TestDatabase.withMigratedConnection("critiques_view") { c in
            try CritiqueRepository(c).store(Self.replies().map { ($0, UUID()) }, backend: "prm")
            let rows = try c.execute("SELECT request_id FROM v_critique_scores ORDER BY request_id").map { try $0.string(0) ?? "" }
            #expect(rows == ["req-answer-only", "req-ok"])
        }
    }

    @Test("the newest checkpoint id and a checkpoint's kind are read without the weights")
    func checkpointLookups() async throws {
        try await TestDatabase.withMigratedConnection("critiques_ckpt") { c in
            let repo = CheckpointRepository(c)
            #expect(try repo.latestID(modelKind: "prm") == nil)
            try repo.save(CheckpointRecord(checkpointID: "prm-1", modelKind: "prm", runID: "a", step: 1, safetensors: [1]))
            try repo.save(CheckpointRecord(checkpointID: "prm-5", modelKind: "prm", runID: "b", step: 5, safetensors: [5]))
            try repo.save(CheckpointRecord(checkpointID: "policy-9", modelKind: "policy", runID: "a", step: 9, safetensors: [9]))
            #expect(try repo.latestID(modelKind: "prm") == "prm-5")
            #expect(try repo.latestID(modelKind: "prm", runID: "a") == "prm-1")
            #expect(try repo.modelKind(of: "policy-9") == "policy")
            #expect(try repo.modelKind(of: "nope") == nil)
        }
    }
}
