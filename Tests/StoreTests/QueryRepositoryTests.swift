import Events
import Foundation
import Testing
import Store

@Suite struct QueryRepositoryTests {
    typealias Event = (eventID: UUID, topic: String, partition: Int32, offset: Int64, payload: QuerySubmitted)

    static func events(_ range: Range<Int>, profiles: Int = 3) -> [Event] {
        range.map { i in
            (eventID: UUID(), topic: "deeppref.queries.v1", partition: Int32(i % 2), offset: Int64(i),
             payload: QuerySubmitted(
                queryID: "q\(i)",
                profile: UserProfile(profileID: "p\(i % profiles)", statedPreference: "I prefer\tcalm\nplans \\ 'ok'",
                                     riskTolerance: i % 2 == 0 ? "low" : nil),
                question: "Question \(i): how do I check in without constantly calling? 👋",
                topic: i % 2 == 0 ? "Family Care" : nil, hiddenPreferences: i % 3 == 0 ? [] : ["autonomy", "privacy, \"strict\""],
                split: i % 2 == 0 ? "train" : nil))
        }
    }

    static func counts(_ c: PostgresConnection) throws -> (profiles: Int, queries: Int, processed: Int) {
        let row = try c.execute("""
            SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM queries), (SELECT count(*) FROM processed_events)
            """)[0]
        return (try row.int(0)!, try row.int(1)!, try row.int(2)!)
    }

    @Test func sameBatchTwiceStoresRowsOnce() async throws {
        try await TestDatabase.withMigratedConnection("idem") { c in
            let repo = QueryRepository(c)
            let batch = Self.events(0..<50)
            #expect(try repo.storeSubmittedQueries(batch, consumer: "council-generator") == 50)
            #expect(try repo.storeSubmittedQueries(batch, consumer: "council-generator") == 0)
            let n = try Self.counts(c)
            #expect(n.profiles == 3 && n.queries == 50 && n.processed == 50)

            // Values arrive unchanged, arrays and NULLs included.
            let row = try c.execute("SELECT q.*, p.stated_preference, p.risk_tolerance FROM queries q JOIN profiles p USING (profile_id) WHERE query_id = 'q1'")[0]
            #expect(try row.string("question") == batch[1].payload.question)
            #expect(try row.stringArray("hidden_preferences") == ["autonomy", "privacy, \"strict\""])
            #expect(try row.string("topic") == nil)
            #expect(try row.string("split") == nil)
            #expect(try row.uuid("source_event_id") == batch[1].eventID)
            #expect(try row.string("stated_preference") == "I prefer\tcalm\nplans \\ 'ok'")
            let zero = try c.execute("SELECT hidden_preferences, split FROM queries WHERE query_id = 'q0'")[0]
            #expect(try zero.stringArray(0) == [])
            #expect(try zero.string(1) == "train")

            // Another consumer has its own ledger.
            #expect(try repo.storeSubmittedQueries(batch, consumer: "other-consumer") == 50)
            #expect(try Self.counts(c).queries == 50)
        }
    }

    @Test func overlappingBatchesStoreOnlyTheNewEvents() async throws {
        try await TestDatabase.withMigratedConnection("overlap") { c in
            let repo = QueryRepository(c)
            let all = Self.events(0..<300)
            #expect(try repo.storeSubmittedQueries(Array(all[0..<200]), consumer: "cg") == 200)
            #expect(try repo.storeSubmittedQueries(Array(all[100..<300]), consumer: "cg") == 100)
            // Duplicates inside one batch count once.
            #expect(try repo.storeSubmittedQueries(Array(all[250..<300]) + Array(all[250..<300]), consumer: "cg") == 0)
            let n = try Self.counts(c)
            #expect(n.queries == 300 && n.processed == 300)
        }
    }

    @Test func laterEventsUpdateProfilesAndResubmittedQueries() async throws {
        try await TestDatabase.withMigratedConnection("update") { c in
            let repo = QueryRepository(c)
            var first = Self.events(0..<1)[0]
            first.payload.profile.statedPreference = "old"
            var second = Self.events(0..<1)[0]
            second.payload.profile.statedPreference = "new"
            second.payload.question = "edited question"
            // Same profile and query twice in one batch: the later event wins.
            #expect(try repo.storeSubmittedQueries([first, second], consumer: "cg") == 2)
            #expect(try c.execute("SELECT stated_preference FROM profiles WHERE profile_id = 'p0'")[0].string(0) == "new")
            let q = try c.execute("SELECT question, source_event_id FROM queries WHERE query_id = 'q0'")[0]
            #expect(try q.string(0) == "edited question")
            #expect(try q.uuid(1) == second.eventID)
        }
    }

    @Test func failedBatchLeavesNoClaimBehind() async throws {
        try await TestDatabase.withMigratedConnection("rollback") { c in
            let repo = QueryRepository(c)
            let batch = Self.events(0..<10)
            struct Abort: Error {}
            #expect(throws: Abort.self) {
                try c.transaction { c in
                    try QueryRepository(c).storeSubmittedQueries(batch, consumer: "cg")
                    throw Abort()
                }
            }
            #expect(try Self.counts(c).processed == 0)
            // Two calls inside one caller transaction both land, and the temp table does not leak rows.
            let stored = try c.transaction { c -> [Int] in
                [try QueryRepository(c).storeSubmittedQueries(Array(batch[0..<5]), consumer: "cg"),
                 try QueryRepository(c).storeSubmittedQueries(Array(batch[0..<7]), consumer: "cg")]
            }
            #expect(stored == [5, 2])
            #expect(try repo.storeSubmittedQueries(batch, consumer: "cg") == 3)
            #expect(try Self.counts(c).queries == 10)
        }
    }

    @Test func ledgerClaimsOnlyUnprocessedEvents() async throws {
        try await TestDatabase.withMigratedConnection("ledger") { c in
            let refs = (0..<5).map { EventReference(eventID: UUID(), topic: "critic.critiques.v1", partition: 0, offset: Int64($0)) }
            #expect(throws: StoreError.self) { try ProcessedEventLedger(c).claim(refs, consumer: "x") }
            let first = try c.transaction { try ProcessedEventLedger($0).claim(Array(refs[0..<3]), consumer: "trainer") }
            #expect(first == Set(refs[0..<3].map(\.eventID)))
            let second = try c.transaction { try ProcessedEventLedger($0).claim(refs, consumer: "trainer") }
            #expect(second == Set(refs[3..<5].map(\.eventID)))
            #expect(try ProcessedEventLedger(c).isProcessed(refs[4].eventID, consumer: "trainer"))
            #expect(try !ProcessedEventLedger(c).isProcessed(refs[4].eventID, consumer: "evaluator"))
        }
    }

    @Test func concurrentWritersOfOverlappingBatchesStoreEachEventOnce() async throws {
        try await TestDatabase.withSchema("race", poolSize: 4) { config in
            let db = Database(configuration: config)
            defer { db.shutdown() }
            try await Migrator.migrate(db)
            let all = Self.events(0..<2000, profiles: 50)
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var stored = 0
                        // Every worker writes every event, in a different batch order.
                        let batches = stride(from: 0, to: all.count, by: 200).map { Array(all[$0..<min($0 + 200, all.count)]) }
                        for batch in worker % 2 == 0 ? batches : batches.reversed() {
                            while true {
                                do {
                                    stored += try await db.withConnection { c in
                                        try QueryRepository(c).storeSubmittedQueries(batch, consumer: "cg")
                                    }
                                    break
                                } catch let error as StoreError where error.isRetriable {
                                    continue   // deadlock or serialization: retry, as a consumer would
                                }
                            }
                        }
                        return stored
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(total == 2000)
            let n = try await db.withConnection { try Self.counts($0) }
            #expect(n.queries == 2000 && n.processed == 2000 && n.profiles == 50)
            let orphans = try await db.withConnection { c in
                try c.execute("SELECT count(*) FROM queries q WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.profile_id = q.profile_id)")[0].int(0)
            }
            #expect(orphans == 0)
        }
    }
}
