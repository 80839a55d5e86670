/// Every event payload type this build can read, by type name and schema version.
public enum EventRegistry {
    /// All payload types; ``EventCodec`` rejects any type or version not listed here.
    public static let all: [any EventPayload.Type] = [
        QuerySubmitted.self,
        AnnotationProduced.self,
        CritiqueRequested.self,
        CritiqueProduced.self,
        CheckpointPublished.self,
        EvaluationPublished.self,
    ]

    /// The schema versions this build reads for an event type, or nil for an unknown type.
    public static func versions(of type: String) -> Set<Int>? {
        let versions = Set(all.filter { $0.eventType == type }.map { $0.schemaVersion })
        return versions.isEmpty ? nil : versions
    }
}
