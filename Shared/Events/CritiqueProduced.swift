/// The critic's answer to a ``CritiqueRequested``; published on the request's `reply_topic`
/// (by default `critic.critiques.v1`), keyed by `request_id` like the request.
public struct CritiqueProduced: EventPayload {
    public static let eventType = "critique_produced"
    public static let schemaVersion = 1
    public static let defaultTopic = "critic.critiques.v1"

    public var requestID: String
    public var responseID: String
    /// The PRM checkpoint that wrote the critique; nil for the oracle judge or an external endpoint.
    public var criticCheckpointID: String?
    public var status: CritiqueStatus
    /// One verdict per step, in step order; empty unless `status` is `ok`. Default: [].
    public var stepVerdicts: [StepVerdict]
    public var answerVerdict: AnswerVerdict?
    /// In [−1, 1]; present exactly when `status` is `ok`.
    public var finalScore: Double?
    /// The critic's raw generated critique chain (also when it could not be parsed). Default: "".
    public var critiqueText: String
    /// What went wrong, for `malformed` and `failed`.
    public var error: String?
    /// Generations tried (≥ 1; a malformed generation is retried).
    public var attempts: Int

    public init(requestID: String, responseID: String, criticCheckpointID: String? = nil,
                status: CritiqueStatus, stepVerdicts: [StepVerdict] = [], answerVerdict: AnswerVerdict? = nil,
                finalScore: Double? = nil, critiqueText: String = "", error: String? = nil, attempts: Int = 1) {
        self.requestID = requestID
        self.responseID = responseID
        self.criticCheckpointID = criticCheckpointID
        self.status = status
        self.stepVerdicts = stepVerdicts
        self.answerVerdict = answerVerdict
        self.finalScore = finalScore
        self.critiqueText = critiqueText
        self.error = error
        self.attempts = attempts
    }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", responseID = "response_id", criticCheckpointID = "critic_checkpoint_id"
        case status, stepVerdicts = "step_verdicts", answerVerdict = "answer_verdict", finalScore = "final_score"
        case critiqueText = "critique_text", error, attempts
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requestID = try c.decode(String.self, forKey: .requestID)
        responseID = try c.decode(String.self, forKey: .responseID)
        criticCheckpointID = try c.decodeIfPresent(String.self, forKey: .criticCheckpointID)
        status = try c.decode(CritiqueStatus.self, forKey: .status)
        stepVerdicts = try c.decode([StepVerdict].self, forKey: .stepVerdicts, default: [])
        answerVerdict = try c.decodeIfPresent(AnswerVerdict.self, forKey: .answerVerdict)
        finalScore = try c.decodeIfPresent(Double.self, forKey: .finalScore)
        critiqueText = try c.decode(String.self, forKey: .critiqueText, default: "")
        error = try c.decodeIfPresent(String.self, forKey: .error)
        attempts = try c.decode(Int.self, forKey: .attempts)
    }

    public var partitionKey: String? { requestID }

    public func validationProblems() -> [String] {
        var problems: [String] = []
        EventValidation.checkNotEmpty(requestID, "request_id", into: &problems)
        EventValidation.checkNotEmpty(responseID, "response_id", into: &problems)
        if let id = criticCheckpointID, id.isEmpty { problems.append("critic_checkpoint_id is empty (omit it instead)") }
        if attempts < 1 { problems.append("attempts \(attempts) is below 1") }
        for (i, verdict) in stepVerdicts.enumerated() {
            if verdict.index != i + 1 {
                problems.append("step_verdicts[\(i)].index is \(verdict.index); verdicts are numbered 1, 2, ... in order")
            }
            EventValidation.checkScore(verdict.score, "step_verdicts[\(i)].score", into: &problems)
        }
        if let answer = answerVerdict { EventValidation.checkScore(answer.score, "answer_verdict.score", into: &problems) }
        if let score = finalScore { EventValidation.checkScore(score, "final_score", into: &problems) }
        switch status {
        case .ok:
            if finalScore == nil { problems.append("status is ok but final_score is missing") }
        case .malformed, .failed:
            // A critique that did not parse is reported, never silently scored (DESIGN §6).
            if finalScore != nil { problems.append("status is \(status.rawValue) but final_score is set") }
            if !stepVerdicts.isEmpty { problems.append("status is \(status.rawValue) but step_verdicts is not empty") }
            if error?.isEmpty ?? true { problems.append("status is \(status.rawValue) but error is missing") }
        }
        return problems
    }
}
