import Events

/// The topics CDRA's services use, each with the one environment variable that renames it (the
/// Compose stack's `.env` sets them) and its default name.
public enum TopicSetting: String, CaseIterable, Sendable {
    case queries, annotations, critiqueRequests, critiques, checkpoints, evaluations

    /// `CDRA_TOPIC_QUERIES`, `CDRA_TOPIC_CRITIQUE_REQUESTS`, ...
    public var variable: String {
        let snake = rawValue.reduce(into: "") { name, character in
            if character.isUppercase { name += "_" }
            name += character.uppercased()
        }
        return "CDRA_TOPIC_" + snake
    }

    /// The name used when neither a flag nor the variable names one.
    public var defaultTopic: String {
        switch self {
        case .queries: return QuerySubmitted.defaultTopic
        case .annotations: return AnnotationProduced.defaultTopic
        case .critiqueRequests: return CritiqueRequested.defaultTopic
        case .critiques: return CritiqueProduced.defaultTopic
        case .checkpoints: return CheckpointPublished.defaultTopic
        case .evaluations: return EvaluationPublished.defaultTopic
        }
    }
}
