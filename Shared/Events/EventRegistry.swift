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
        versionsByType[type]
    }

    // Built once: the codec asks for every message it decodes.
    private static let versionsByType: [String: Set<Int>] =
        Dictionary(all.map { ($0.eventType, [$0.schemaVersion]) }, uniquingKeysWith: { $0.union($1) })
}
