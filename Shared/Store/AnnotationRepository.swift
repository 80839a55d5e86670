import Events
import Foundation

/// Stores council annotations (the `annotations` row, its persona critiques and the full
/// document) and reads them back for republishing.
public struct AnnotationRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Inserts the annotations with their persona critiques in one statement. An annotation whose
    /// (query, backend) is already stored is left as it is, so a replay writes nothing. Returns how
    /// many were new. Run it in the transaction that claims the source events.
    @discardableResult
    public func store(_ items: [(annotation: CouncilAnnotation, sourceEventID: UUID)]) throws -> Int {
        guard !items.isEmpty else { return 0 }
        let encoder = EventCodec.makeEncoder()
        // The batch travels as one jsonb array; the statement unpacks it server-side.
        var batch = "["
        for (index, item) in items.enumerated() {
            if index > 0 { batch += "," }
            let document = String(decoding: try encoder.encode(item.annotation), as: UTF8.self)
            batch += "{\"source_event_id\":\"\(item.sourceEventID.uuidString)\",\"annotation\":\(document)}"
        }
        batch += "]"
        let result = try connection.execute(Self.storeStatement, [.jsonb(batch)])
        return try result[0].int(0) ?? 0
    }

    /// The stored annotations of these queries by one backend, keyed by query id.
    public func load(queryIDs: [String], backend: String) throws -> [String: CouncilAnnotation] {
        guard !queryIDs.isEmpty else { return [:] }
        let result = try connection.execute(
            "SELECT query_id, document FROM annotations WHERE backend = $1 AND query_id = ANY($2::text[])",
            [.text(backend), .textArray(queryIDs)])
        let decoder = EventCodec.makeDecoder()
        var annotations: [String: CouncilAnnotation] = [:]
        annotations.reserveCapacity(result.count)
        for row in result {
            guard let queryID = try row.string(0), let document = try row.json(1) else { continue }
            do {
                annotations[queryID] = try decoder.decode(CouncilAnnotation.self, from: Data(document.utf8))
            } catch {
                throw StoreError(.decodingFailed, "stored annotation of query '\(queryID)' does not decode: \(error)")
            }
        }
        return annotations
    }

    /// Annotated queries by one backend, in query-id order: those of one split (every split
    /// when nil), or the listed queries. The query carries its profile, topic, ground truth and split.
    /// The annotated queries among `queryIDs`, by query id (what a critic or a trainer looks up
    /// for a batch of requests).
    public func annotatedQueries(backend: String, byID queryIDs: [String]) throws -> [String: AnnotatedQuery] {
        Dictionary(try annotatedQueries(backend: backend, queryIDs: queryIDs).map { ($0.query.queryID, $0) },
                   uniquingKeysWith: { first, _ in first })
    }

    public func annotatedQueries(backend: String, split: String? = nil, queryIDs: [String]? = nil,
                                 limit: Int? = nil) throws -> [AnnotatedQuery] {
        let result = try connection.execute(
            """
            SELECT q.query_id, q.question, q.topic, q.hidden_preferences, q.split,
                   p.profile_id, p.stated_preference, p.risk_tolerance, a.document
            FROM annotations a
            JOIN queries q USING (query_id)
            JOIN profiles p ON p.profile_id = q.profile_id
            WHERE a.backend = $1 AND ($2::text IS NULL OR q.split = $2)
              AND ($3::text[] IS NULL OR q.query_id = ANY($3::text[]))
            ORDER BY q.query_id
            LIMIT $4
            """,
            [.text(backend), split.map { .text($0) }, queryIDs.map { .textArray($0) }, limit.map { .int($0) }])
        let decoder = EventCodec.makeDecoder()
        var out: [AnnotatedQuery] = []
        out.reserveCapacity(result.count)
        for row in result {
            let queryID = try row.string("query_id") ?? ""
            guard let document = try row.json("document") else { continue }
            let annotation: CouncilAnnotation
            do {
                annotation = try decoder.decode(CouncilAnnotation.self, from: Data(document.utf8))
            } catch {
                throw StoreError(.decodingFailed, "stored annotation of query '\(queryID)' does not decode: \(error)")
            }
            let profile = UserProfile(profileID: try row.string("profile_id") ?? "",
                                      statedPreference: try row.string("stated_preference") ?? "",
                                      riskTolerance: try row.string("risk_tolerance"))
            let query = QuerySubmitted(queryID: queryID, profile: profile, question: try row.string("question") ?? "",
                                       topic: try row.string("topic"),
                                       hiddenPreferences: (try row.stringArray("hidden_preferences") ?? []).compactMap { $0 },
                                       split: try row.string("split"))
            out.append(AnnotatedQuery(query: query, annotation: annotation))
        }
        return out
    }

    static let storeStatement = """
        WITH incoming AS (
            SELECT (item->>'source_event_id')::uuid AS source_event_id, item->'annotation' AS doc
            FROM jsonb_array_elements($1::jsonb) AS item
        ), stored AS (
            INSERT INTO annotations (query_id, backend, inferred_preferences, reasoning_chain, thought_tree,
                                     aligned_response, superficial_response, rubric, document, source_event_id)
            SELECT doc->>'query_id', doc->>'backend',
                   ARRAY(SELECT p->>'dimension' FROM jsonb_array_elements(doc->'inferred_preferences') AS p),
                   doc->'reasoning_chain', doc->'thought_tree', doc->>'aligned_answer',
                   doc->>'superficial_answer', doc->'rubric', doc, source_event_id
            FROM incoming
            ON CONFLICT (query_id, backend) DO NOTHING
            RETURNING query_id, backend, document
        ), critiques AS (
            INSERT INTO persona_critiques (query_id, backend, persona, ordinal, quoted_cue, inferred_preference,
                                           latent_risk, severity, recommendation)
            SELECT s.query_id, s.backend, c->>'persona', (o - 1)::integer, c->>'quoted_cue',
                   c->>'inferred_preference', c->>'latent_risk', (c->>'severity')::real, c->>'recommendation'
            FROM stored AS s, jsonb_array_elements(s.document->'persona_critiques') WITH ORDINALITY AS t(c, o)
        )
        SELECT count(*) FROM stored
        """
}
