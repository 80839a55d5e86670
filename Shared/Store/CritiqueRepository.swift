import Events
import Foundation

/// Stores the critic's replies (`critiques`, one row per request id, whatever the status) and
/// reads them back exactly as they were sent, so a request that arrives again is answered with
/// the stored reply instead of a second critique.
public struct CritiqueRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Inserts the replies in one statement, idempotently by request id: a reply whose request id
    /// is stored already (a replay, another replica that answered first) is left out, as is a
    /// second reply for the same request id within `rows`. Returns how many rows were inserted.
    /// Run it in the transaction that claims the source events.
    ///
    /// - Parameter backend: the backend that answered (`prm`, `scalar`, `oracle`, `llm:<model>`);
    ///   `critic_checkpoint` holds the reply's checkpoint id, or this name when it names none. A
    ///   checkpoint id equal to the backend's name could not be told apart from "no checkpoint",
    ///   so it is refused.
    @discardableResult
    public func store(_ rows: [(produced: CritiqueProduced, sourceEventID: UUID?)], backend: String) throws -> Int {
        guard !rows.isEmpty else { return 0 }
        guard !backend.isEmpty else { throw StoreError(.queryFailed, "a critique needs the name of the backend that wrote it") }
        if let clash = rows.first(where: { $0.produced.criticCheckpointID == backend }) {
            throw StoreError(.queryFailed, "critique \(clash.produced.requestID): checkpoint id '\(backend)' is the backend's own name")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The batch travels as one jsonb array; the statement unpacks it server-side.
        let batch = try encoder.encode(rows.map { StoredCritique($0.produced, sourceEventID: $0.sourceEventID, backend: backend) })
        let result = try connection.execute(Self.storeStatement, [.jsonb(String(decoding: batch, as: UTF8.self))])
        return try result[0].int(0) ?? 0
    }

    /// The stored replies of these requests, keyed by request id; ids without a row are absent.
    public func load(requestIDs: [String]) throws -> [String: CritiqueProduced] {
        guard !requestIDs.isEmpty else { return [:] }
        let result = try connection.execute(
            """
            SELECT request_id, response_id, status, critique_chain, final_score, critique_text, error, attempts,
                   critic_checkpoint, critic_backend
            FROM critiques WHERE request_id = ANY($1::text[])
            """, [.textArray(requestIDs)])
        let decoder = JSONDecoder()
        var replies: [String: CritiqueProduced] = [:]
        replies.reserveCapacity(result.count)
        for row in result {
            guard let requestID = try row.string("request_id") else { continue }
            let statusText = try row.string("status") ?? ""
            guard let status = CritiqueStatus(rawValue: statusText) else {
                throw StoreError(.decodingFailed, "critique \(requestID) has status '\(statusText)'")
            }
            let chain: [StoredCritique.ChainEntry]
            do {
                chain = try decoder.decode([StoredCritique.ChainEntry].self, from: Data((try row.json("critique_chain") ?? "[]").utf8))
            } catch {
                throw StoreError(.decodingFailed, "critique \(requestID): critique_chain does not decode: \(error)")
            }
            let checkpoint = try row.string("critic_checkpoint")
            let backend = try row.string("critic_backend")
            replies[requestID] = CritiqueProduced(
                requestID: requestID, responseID: try row.string("response_id") ?? "",
                criticCheckpointID: checkpoint == backend ? nil : checkpoint, status: status,
                stepVerdicts: chain.compactMap { entry in
                    entry.step.index.map { StepVerdict(index: $0, critique: entry.critique, score: entry.score) }
                },
                answerVerdict: chain.first { $0.step.index == nil }.map { AnswerVerdict(critique: $0.critique, score: $0.score) },
                finalScore: try row.double("final_score"), critiqueText: try row.string("critique_text") ?? "",
                error: try row.string("error"), attempts: try row.int("attempts") ?? 1)
        }
        return replies
    }

    // DISTINCT ON keeps the first reply per request id of the batch; ON CONFLICT DO NOTHING skips
    // those already stored (the primary key) and a source event stored before (its UNIQUE key).
    static let storeStatement = """
        WITH incoming AS (
            SELECT DISTINCT ON (item->>'request_id') item, ordinal
            FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(item, ordinal)
            ORDER BY item->>'request_id', ordinal
        ), stored AS (
            INSERT INTO critiques (request_id, response_id, status, critique_chain, step_scores, final_score,
                                   critique_text, error, attempts, critic_checkpoint, critic_backend, source_event_id)
            SELECT item->>'request_id', item->>'response_id', item->>'status', item->'critique_chain',
                   ARRAY(SELECT s::float8 FROM jsonb_array_elements_text(item->'step_scores') WITH ORDINALITY AS e(s, o)
                         ORDER BY o),
                   (item->>'final_score')::float8, item->>'critique_text', item->>'error', (item->>'attempts')::integer,
                   item->>'critic_checkpoint', item->>'critic_backend', (item->>'source_event_id')::uuid
            FROM incoming
            ORDER BY item->>'request_id'   -- a fixed order keeps concurrent overlapping batches from deadlocking
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM stored
        """
}

/// One `critiques` row as the store statement reads it from the batch's jsonb array.
struct StoredCritique: Encodable {
    /// An element of `critique_chain`: `{"step": 1, "critique": "...", "score": 0.7}`, and
    /// `{"step": "answer", ...}` for the answer verdict.
    struct ChainEntry: Codable {
        var step: StepLabel
        var critique: String
        var score: Double
    }

    /// A step number, or `"answer"`.
    struct StepLabel: Codable {
        /// Nil for the answer.
        var index: Int?

        init(index: Int?) { self.index = index }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let index = try? container.decode(Int.self) {
                self.index = index
            } else if try container.decode(String.self) == "answer" {
                self.index = nil
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a step is a number or \"answer\"")
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            if let index { try container.encode(index) } else { try container.encode("answer") }
        }
    }

    var requestID: String
    var responseID: String
    var status: String
    var critiqueChain: [ChainEntry]
    var stepScores: [Double]
    var finalScore: Double?
    var critiqueText: String
    var error: String?
    var attempts: Int
    var criticCheckpoint: String
    var criticBackend: String
    var sourceEventID: UUID?

    init(_ reply: CritiqueProduced, sourceEventID: UUID?, backend: String) {
        requestID = reply.requestID
        responseID = reply.responseID
        status = reply.status.rawValue
        critiqueChain = reply.stepVerdicts.map { ChainEntry(step: StepLabel(index: $0.index), critique: $0.critique, score: $0.score) }
            + (reply.answerVerdict.map { [ChainEntry(step: StepLabel(index: nil), critique: $0.critique, score: $0.score)] } ?? [])
        stepScores = reply.stepVerdicts.map(\.score)
        finalScore = reply.finalScore
        critiqueText = reply.critiqueText
        error = reply.error
        attempts = reply.attempts
        criticCheckpoint = reply.criticCheckpointID ?? backend
        criticBackend = backend
        self.sourceEventID = sourceEventID
    }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", responseID = "response_id", status, critiqueChain = "critique_chain"
        case stepScores = "step_scores", finalScore = "final_score", critiqueText = "critique_text", error, attempts
        case criticCheckpoint = "critic_checkpoint", criticBackend = "critic_backend", sourceEventID = "source_event_id"
    }
}
