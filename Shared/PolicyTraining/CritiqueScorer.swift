import Critique
import Events
import Foundation

/// A critic's verdict on one policy sample, as the trainer uses it.
public enum SampleScore: Sendable, Equatable {
    /// Scored: the final score, one score per step and the answer's score.
    case scored(final: Double, steps: [Double], answer: Double)
    /// The critic's output did not parse; never scored, the sample leaves its group.
    case malformed(String)
    /// No critique was produced; never scored, the sample leaves its group.
    case failed(String)

    /// The score of a reply to a request with `steps` steps; a reply whose verdicts do not match
    /// the steps is malformed.
    public init(_ reply: CritiqueProduced, steps: Int) {
        switch reply.status {
        case .ok:
            guard let final = reply.finalScore, let answer = reply.answerVerdict?.score else {
                self = .malformed("the reply is ok but has no final or answer score"); return
            }
            guard reply.stepVerdicts.count == steps else {
                self = .malformed("the critique has \(reply.stepVerdicts.count) step verdicts for \(steps) steps"); return
            }
            self = .scored(final: final, steps: reply.stepVerdicts.map(\.score), answer: answer)
        case .malformed: self = .malformed(reply.error ?? "malformed critique")
        case .failed: self = .failed(reply.error ?? "the critic failed")
        }
    }
}

/// One batch of critique round trips.
public struct ScoringReport: Sendable {
    /// Scores by request id; every request of the batch has one.
    public var scores: [String: SampleScore]
    /// The critique text of the scored replies, by request id (the feedback a revision reads).
    public var critiques: [String: String] = [:]
    /// Round-trip times of the answered requests, in milliseconds.
    public var latenciesMs: [Double] = []
    /// Requests sent again after a timeout.
    public var resends = 0
    /// Replies for requests this batch did not send (late replies of an earlier process, or
    /// strangers), ignored.
    public var unknownReplies = 0
    /// Second replies to an answered request, ignored.
    public var duplicateReplies = 0

    public init(scores: [String: SampleScore]) {
        self.scores = scores
    }
}

/// Sends critique requests and waits for one score per request: the critic replicas over Kafka
/// in the service, a backend in process in tests.
public protocol CritiqueScorer: AnyObject {
    /// One score for every request (by request id), or a thrown error when the critics do not
    /// answer in time.
    func score(_ requests: [CritiqueRequested]) async throws -> ScoringReport
}

/// A critic backend called in process (tests and the no-broker development path; the Kafka path
/// is the service's `KafkaCritiqueScorer`).
public final class BackendScorer: CritiqueScorer {
    public let backend: any CriticBackend

    public init(_ backend: any CriticBackend) {
        self.backend = backend
    }

    public func score(_ requests: [CritiqueRequested]) async throws -> ScoringReport {
        let outcomes = try await backend.critique(requests)
        var report = ScoringReport(scores: [:])
        for (request, outcome) in zip(requests, outcomes) {
            let reply = outcome.produced(for: request, checkpointID: backend.checkpointID)
            report.scores[request.requestID] = SampleScore(reply, steps: request.steps.count)
            if reply.status == .ok { report.critiques[request.requestID] = reply.critiqueText }
        }
        return report
    }
}
