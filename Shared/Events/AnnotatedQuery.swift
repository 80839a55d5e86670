/// A query with its council annotation: what the oracle judge, the step oracle and the PRM's
/// training data are built from.
public struct AnnotatedQuery: Sendable, Equatable {
    public var query: QuerySubmitted
    public var annotation: CouncilAnnotation

    public init(query: QuerySubmitted, annotation: CouncilAnnotation) {
        self.query = query
        self.annotation = annotation
    }
}
