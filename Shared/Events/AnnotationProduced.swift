/// A query and its council annotation; published on `deeppref.annotations.v1` by the
/// council generator, keyed by `query.query_id`.
public struct AnnotationProduced: EventPayload {
    public static let eventType = "annotation_produced"
    public static let schemaVersion = 1
    public static let defaultTopic = "deeppref.annotations.v1"

    public var query: QuerySubmitted
    public var annotation: CouncilAnnotation

    public init(query: QuerySubmitted, annotation: CouncilAnnotation) {
        self.query = query
        self.annotation = annotation
    }

    public var partitionKey: String? { query.queryID }

    public func validationProblems() -> [String] {
        var problems = query.validationProblems() + annotation.validationProblems()
        if query.queryID != annotation.queryID {
            problems.append("annotation.query_id '\(annotation.queryID)' differs from query.query_id '\(query.queryID)'")
        }
        return problems
    }
}
