import Events

/// The oracle judge: answers the published evaluation's eight checks for a response, given the
/// council annotation of its query (and the benchmark's ground truth, carried in the query).
public protocol PreferenceJudge: Sendable {
    /// `builtin` or `llm:<model>`.
    var name: String { get }
    func judge(query: QuerySubmitted, annotation: CouncilAnnotation, response: String) async throws -> JudgeVerdict
}
