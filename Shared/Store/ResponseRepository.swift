import Foundation

/// One row of `responses`: a response to a query, from a policy checkpoint, a revision, a council
/// reference or a constructed training chain.
public struct ResponseRecord: Sendable, Equatable {
    public var responseID: String
    public var queryID: String
    /// The checkpoint that sampled it; nil for references and constructed chains.
    public var modelCheckpoint: String?
    /// `policy`, `revision`, `reference_aligned`, `reference_superficial`, `mixed` or `garbled`
    /// (a `:kind` suffix names how a constructed chain was made, e.g. `mixed:vague_step`).
    public var origin: String
    public var parentResponseID: String?
    /// The response as one text: "Step 1: ...\nStep N: ...\nAnswer: ...".
    public var text: String
    /// `["Step 1: ...", ..., "Answer: ..."]`.
    public var steps: [String]

    public init(responseID: String, queryID: String, modelCheckpoint: String? = nil, origin: String,
                parentResponseID: String? = nil, text: String, steps: [String]) {
        self.responseID = responseID
        self.queryID = queryID
        self.modelCheckpoint = modelCheckpoint
        self.origin = origin
        self.parentResponseID = parentResponseID
        self.text = text
        self.steps = steps
    }
}

/// Stores responses (`responses` table). Idempotent by response id: storing a response again
/// changes nothing.
public struct ResponseRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Inserts the responses that are not stored yet, in one statement; returns how many were new.
    @discardableResult
    public func store(_ records: [ResponseRecord]) throws -> Int {
        guard !records.isEmpty else { return 0 }
        struct Row: Encodable {
            var response_id: String, query_id: String, model_checkpoint: String?, origin: String
            var parent_response_id: String?, text: String, steps: [String]
        }
        let rows = records.map {
            Row(response_id: $0.responseID, query_id: $0.queryID, model_checkpoint: $0.modelCheckpoint,
                origin: $0.origin, parent_response_id: $0.parentResponseID, text: $0.text, steps: $0.steps)
        }
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        let result = try connection.execute(
            """
            WITH stored AS (
                INSERT INTO responses (response_id, query_id, model_checkpoint, origin, parent_response_id, text, steps)
                SELECT r->>'response_id', r->>'query_id', r->>'model_checkpoint', r->>'origin',
                       r->>'parent_response_id', r->>'text', r->'steps'
                FROM jsonb_array_elements($1::jsonb) AS r
                ON CONFLICT (response_id) DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM stored
            """, [.jsonb(json)])
        return try result[0].int(0) ?? 0
    }

    /// Responses of one origin (prefix match on `origin`, so `mixed` finds every `mixed:*`),
    /// optionally of one checkpoint, oldest first.
    public func load(originPrefix: String, modelCheckpoint: String? = nil, limit: Int? = nil) throws -> [ResponseRecord] {
        let result = try connection.execute(
            """
            SELECT response_id, query_id, model_checkpoint, origin, parent_response_id, text, steps
            FROM responses
            WHERE (origin = $1 OR origin LIKE $1 || ':%') AND ($2::text IS NULL OR model_checkpoint = $2)
            ORDER BY created_at, response_id
            LIMIT $3
            """, [.text(originPrefix), modelCheckpoint.map { .text($0) }, limit.map { .int($0) }])
        return try result.map { row in
            let stepsJSON = try row.json("steps") ?? "[]"
            let steps = (try? JSONDecoder().decode([String].self, from: Data(stepsJSON.utf8))) ?? []
            return ResponseRecord(responseID: try row.string("response_id") ?? "", queryID: try row.string("query_id") ?? "",
                                  modelCheckpoint: try row.string("model_checkpoint"), origin: try row.string("origin") ?? "",
                                  parentResponseID: try row.string("parent_response_id"), text: try row.string("text") ?? "",
                                  steps: steps)
        }
    }
}
