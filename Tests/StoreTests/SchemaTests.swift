import Events
import Foundation
import Testing
import Store

@Suite struct SchemaTests {
    @Test func checkpointRejectsAWrongSHA256AndStoresWeightsExactly() async throws {
        try await TestDatabase.withMigratedConnection("ckpt") { c in
            let weights = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
            let digest = try c.execute("SELECT encode(sha256($1), 'hex')", [.bytea(weights)])[0].string(0)!
            let insert = "INSERT INTO checkpoints (checkpoint_id, model_kind, step, config, safetensors, sha256) VALUES ($1, $2, $3, $4, $5, $6)"
            let wrong = try #require(throws: StoreError.self) {
                try c.execute(insert, [.text("bad"), .text("policy"), .int(0), .jsonb("{}"), .bytea(weights),
                                       .text(String(repeating: "0", count: 64))])
            }
            #expect(wrong.sqlState == "23514")   // check_violation
            #expect(throws: StoreError.self) {
                try c.execute(insert, [.text("kind"), .text("critic"), .int(0), .jsonb("{}"), .bytea(weights), .text(digest)])
            }
            try c.execute(insert, [.text("policy-step-10"), .text("policy"), .int(10), .jsonb(#"{"d_model": 128}"#),
                                   .bytea(weights), .text(digest)])
            let row = try c.execute("SELECT safetensors, size_bytes FROM checkpoints WHERE checkpoint_id = $1",
                                    [.text("policy-step-10")])[0]
            #expect(try row.bytes(0) == weights)
            #expect(try row.int(1) == weights.count)
        }
    }

    @Test func checkpointRepositorySavesIdempotentlyAndRefusesDifferentWeights() async throws {
        try await TestDatabase.withMigratedConnection("ckptrepo") { c in
            let repo = CheckpointRepository(c)
            let weights = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 40_503 >> 3) }
            var record = CheckpointRecord(checkpointID: "prm-step-0", modelKind: "prm", runID: "prm-sft", step: 0,
                                          configJSON: #"{"layers": 2}"#, safetensors: weights)
            #expect(try repo.save(record))
            #expect(try !repo.save(record))   // the same checkpoint again: no-op
            var later = record
            later.checkpointID = "prm-step-50"; later.step = 50; later.parentCheckpointID = "prm-step-0"
            later.safetensors[0] ^= 0xff
            #expect(try repo.save(later))
            record.safetensors[1] ^= 0x01
            let conflict = try #require(throws: StoreError.self) { try repo.save(record) }
            #expect(conflict.code == .uniqueViolation)

            let loaded = try #require(try repo.load("prm-step-0"))
            #expect(loaded.safetensors == weights)
            #expect(loaded.configJSON == #"{"layers": 2}"#)
            #expect(loaded.sha256?.count == 64)
            #expect(loaded.createdAt != nil)
            #expect(try repo.load("missing") == nil)
            let newest = try #require(try repo.latest(modelKind: "prm", runID: "prm-sft"))
            #expect(newest.checkpointID == "prm-step-50" && newest.parentCheckpointID == "prm-step-0")
            #expect(newest.safetensors == later.safetensors)
            #expect(try repo.latest(modelKind: "policy") == nil)
        }
    }

    @Test func deadLettersAreRecordedOncePerPosition() async throws {
        try await TestDatabase.withMigratedConnection("dlq") { c in
            let repo = DeadLetterRepository(c)
            let letters = (0..<3).map {
                DeadLetterRecord(consumer: "council-generator", sourceTopic: "deeppref.queries.v1", partition: 0,
                                 offset: Int64($0), key: [1, 2], message: Array("{not json\0\($0)".utf8) + [0, 255],
                                 reason: "malformedJSON: not valid JSON", errorCode: "malformedJSON")
            }
            #expect(try repo.record(letters) == 3)
            #expect(try repo.record(letters) == 0)
            let back = try repo.recent(limit: 10)
            #expect(back.count == 3)
            #expect(Set(back.map(\.message)) == Set(letters.map(\.message)))
            #expect(back.allSatisfy { $0.key == [1, 2] && $0.errorCode == "malformedJSON" })
        }
    }

    @Test func viewsAnswerTheCommonQuestions() async throws {
        try await TestDatabase.withMigratedConnection("views") { c in
            let event = (eventID: UUID(), topic: "deeppref.queries.v1", partition: Int32(0), offset: Int64(0),
                         payload: QuerySubmitted(queryID: "q1", profile: UserProfile(profileID: "p1", statedPreference: "calm"),
                                                 question: "How do I keep in touch without constantly calling?",
                                                 topic: "Family Care", hiddenPreferences: ["autonomy", "low_friction", "privacy"],
                                                 split: "test"))
            try QueryRepository(c).storeSubmittedQueries([event], consumer: "cg")
            try c.execute("""
                INSERT INTO annotations (query_id, backend, inferred_preferences, reasoning_chain, aligned_response,
                                         superficial_response, rubric, document, source_event_id)
                VALUES ('q1', 'builtin', $1, $2, 'aligned', 'superficial', '{}', '{}', $3)
                """, [.textArray(["autonomy", "privacy", "cost"]),
                      .jsonb(#"[{"stage": "surface_request", "text": "x"}, {"stage": "implicit_preferences", "text": "y"}]"#),
                      .uuid(UUID())])
            try c.copyRows(into: "persona_critiques",
                           columns: ["query_id", "backend", "persona", "ordinal", "quoted_cue", "inferred_preference", "severity"],
                           rows: [[.text("q1"), .text("builtin"), .text("Psychologist"), .int(0), .text("without constantly calling"), .text("autonomy"), .double(0.5)],
                                  [.text("q1"), .text("builtin"), .text("Security Expert"), .int(1), nil, .text("privacy"), .double(0.8)]])
            let overview = try c.execute("SELECT * FROM v_annotation_overview")
            #expect(overview.count == 1)
            let recall = try #require(try overview[0].double("hidden_preference_recall"))
            #expect(abs(recall - 2.0 / 3.0) < 1e-12)
            #expect(try overview[0].int("persona_critiques") == 2)
            #expect(try overview[0].int("reasoning_steps") == 2)

            let counts = Dictionary(uniqueKeysWithValues: try c.execute("SELECT table_name, row_count FROM v_table_counts")
                .map { (try $0.string(0)!, try $0.int(1)!) })
            #expect(counts["queries"] == 1 && counts["annotations"] == 1 && counts["persona_critiques"] == 2
                    && counts["processed_events"] == 1 && counts["checkpoints"] == 0)

            // Evaluations: the newest value per checkpoint, split and metric wins.
            let weights: [UInt8] = [1, 2, 3]
            try c.execute("INSERT INTO checkpoints (checkpoint_id, model_kind, step, safetensors, sha256) VALUES ('c1', 'policy', 5, $1, encode(sha256($1), 'hex'))",
                          [.bytea(weights)])
            try c.execute("INSERT INTO evaluations (checkpoint_id, split, metric, value, evaluated_at) VALUES ('c1', 'test', 'acc_pf', 0.5, now() - interval '1 hour')")
            try c.execute("INSERT INTO evaluations (checkpoint_id, split, metric, value) VALUES ('c1', 'test', 'acc_pf', 0.8), ('c1', 'test', 'acc_mis', 0.3)")
            let latest = try c.execute("SELECT value FROM v_latest_evaluations WHERE checkpoint_id = 'c1' AND metric = 'acc_pf'")
            #expect(latest.count == 1)
            #expect(try latest[0].double(0) == 0.8)
            let table = try c.execute("SELECT acc_pf, acc_mis, step FROM v_evaluation_table WHERE checkpoint_id = 'c1'")[0]
            #expect(try table.double(0) == 0.8)
            #expect(try table.double(1) == 0.3)
            #expect(try table.int(2) == 5)
            let progress = try c.execute("SELECT consumer, events_processed, last_offset FROM v_consumer_progress")
            #expect(try progress[0].string(0) == "cg" && progress[0].int(1) == 1 && progress[0].int(2) == 0)
        }
    }
}
