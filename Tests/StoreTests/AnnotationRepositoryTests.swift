import Events
import EventsTesting
import Foundation
import Store
import Testing

@Suite("annotation repository")
struct AnnotationRepositoryTests {
    static func query(_ i: Int) -> QuerySubmitted {
        QuerySubmitted(queryID: "q-\(i)", profile: UserProfile(profileID: "p-\(i % 2)", statedPreference: "I prefer quiet plans."),
                       question: "How do I plan a move \(i) without telling my landlord \"yet\"?", topic: "Moving & Relocation")
    }

    static func annotation(_ i: Int) -> CouncilAnnotation {
        var annotation = AnnotationProduced.sample.annotation
        annotation.queryID = "q-\(i)"
        annotation.alignedAnswer += " (\(i))"
        return annotation
    }

    static func storeQueries(_ ids: Range<Int>, _ connection: PostgresConnection) throws {
        try QueryRepository(connection).storeSubmittedQueries(
            ids.map { (eventID: UUID(), topic: "t", partition: Int32(0), offset: Int64($0), payload: query($0)) },
            consumer: "annotation-tests")
    }

    @Test func storesOnceAndReadsBackTheSameDocument() async throws {
        try await TestDatabase.withMigratedConnection("annotations") { connection in
            try Self.storeQueries(0..<3, connection)
            let items = (0..<3).map { (annotation: Self.annotation($0), sourceEventID: UUID()) }
            #expect(try AnnotationRepository(connection).store(items) == 3)
            // A replay (new source ids, same queries) writes nothing.
            #expect(try AnnotationRepository(connection).store(items.map { ($0.annotation, UUID()) }) == 0)
            let critiques = try connection.execute("SELECT count(*) FROM persona_critiques")[0].int(0)
            #expect(critiques == 3 * AnnotationProduced.sample.annotation.personaCritiques.count)
            let loaded = try AnnotationRepository(connection).load(queryIDs: ["q-0", "q-2", "missing"], backend: "builtin")
            #expect(loaded.count == 2)
            #expect(loaded["q-2"] == Self.annotation(2))
            let inferred = try connection.execute(
                "SELECT inferred_preferences FROM annotations WHERE query_id = 'q-1'")[0].stringArray(0)
            #expect(inferred == Self.annotation(1).inferredPreferences.map { Optional($0.dimension) })
        }
    }

    @Test func processedLookupReportsOnlyAppliedEvents() async throws {
        try await TestDatabase.withMigratedConnection("processed") { connection in
            let applied = UUID(), other = UUID()
            try connection.transaction { connection in
                _ = try ProcessedEventLedger(connection).claim(
                    [EventReference(eventID: applied, topic: "t", partition: 0, offset: 1)], consumer: "c")
            }
            #expect(try ProcessedEventLedger(connection).processed([applied, other], consumer: "c") == [applied])
            #expect(try ProcessedEventLedger(connection).processed([applied], consumer: "someone-else").isEmpty)
        }
    }
}
