import Events

/// A council backend that can say in detail why a query failed (attempts made, the model's last
/// output), so a service can dead-letter it with a useful record.
public protocol FailureReportingCouncil: CouncilBackend {
    func annotateReportingFailure(_ query: QuerySubmitted) async -> Result<CouncilAnnotation, CouncilFailure>
}

extension CouncilBackend {
    /// The detailed result for any backend: the backend's own failure record when it keeps one,
    /// otherwise one built from the error it threw.
    public func annotateWithFailureRecord(_ query: QuerySubmitted) async -> Result<CouncilAnnotation, CouncilFailure> {
        if let reporting = self as? any FailureReportingCouncil {
            return await reporting.annotateReportingFailure(query)
        }
        do {
            return .success(try await annotate(query))
        } catch {
            return .failure(CouncilFailure(queryID: query.queryID, backend: name, error: error))
        }
    }
}
