import Foundation

/// A request for the Pers-GenPRM critic to critique one response; published on
/// `critic.requests.v1` by the policy trainer and the evaluator, keyed by `request_id` so
/// requests spread over partitions and critic replicas.
public struct CritiqueRequested: EventPayload {
    public static let eventType = "critique_requested"
    public static let schemaVersion = 1
    public static let defaultTopic = "critic.requests.v1"

    /// Unique per request; the reply's ``CritiqueProduced/requestID`` repeats it.
    public var requestID: String
    /// The topic the critic publishes its ``CritiqueProduced`` on.
    public var replyTopic: String
    public var queryID: String
    public var profile: UserProfile
    public var question: String
    public var responseID: String
    /// The response's reasoning, split at its "Step k:" markers, markers removed; may be empty
    /// when the policy wrote no steps (the critic then judges the answer alone).
    public var steps: [String]
    /// The text after the last step: the answer to the user.
    public var answer: String
    /// The policy checkpoint that wrote the response, when it came from one.
    public var policyCheckpointID: String?
    /// Unix time in milliseconds after which the requester stops waiting; the critic replies
    /// `failed` instead of scoring an expired request.
    public var deadlineMs: Int64?
    /// Score with this PRM checkpoint instead of the critic's current one; a checkpoint that does
    /// not exist gets a `failed` reply saying so. Nil: the critic's current backend.
    public var criticCheckpointID: String?

    public init(requestID: String, replyTopic: String = "critic.critiques.v1", queryID: String,
                profile: UserProfile, question: String, responseID: String, steps: [String],
                answer: String, policyCheckpointID: String? = nil, deadlineMs: Int64? = nil,
                criticCheckpointID: String? = nil) {
        self.requestID = requestID
        self.replyTopic = replyTopic
        self.queryID = queryID
        self.profile = profile
        self.question = question
        self.responseID = responseID
        self.steps = steps
        self.answer = answer
        self.policyCheckpointID = policyCheckpointID
        self.deadlineMs = deadlineMs
        self.criticCheckpointID = criticCheckpointID
    }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", replyTopic = "reply_topic", queryID = "query_id", profile, question
        case responseID = "response_id", steps, answer
        case policyCheckpointID = "policy_checkpoint_id", deadlineMs = "deadline_ms"
        case criticCheckpointID = "critic_checkpoint_id"
    }

    public var partitionKey: String? { requestID }

    public func validationProblems() -> [String] {
        var problems: [String] = []
        EventValidation.checkNotEmpty(requestID, "request_id", into: &problems)
        EventValidation.checkNotEmpty(queryID, "query_id", into: &problems)
        EventValidation.checkNotEmpty(responseID, "response_id", into: &problems)
        EventValidation.checkNotEmpty(profile.profileID, "profile.profile_id", into: &problems)
        if question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problems.append("question is empty") }
        if !EventValidation.isTopicName(replyTopic) {
            problems.append("reply_topic '\(replyTopic.prefix(64))' is not a valid Kafka topic name")
        }
        if steps.isEmpty && answer.isEmpty { problems.append("the response has neither steps nor an answer") }
        if let id = policyCheckpointID, id.isEmpty { problems.append("policy_checkpoint_id is empty (omit it instead)") }
        if let id = criticCheckpointID, id.isEmpty { problems.append("critic_checkpoint_id is empty (omit it instead)") }
        if let deadline = deadlineMs, deadline <= 0 { problems.append("deadline_ms \(deadline) is not a positive Unix time") }
        return problems
    }
}
