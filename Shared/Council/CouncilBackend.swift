import Events

/// Anything that can play the Cognitive Council for a query: the built-in, knowledge-pack-driven
/// council or a council of LLM personas behind a chat-completions endpoint.
public protocol CouncilBackend: Sendable {
    /// `builtin` or `llm:<model>`; stored with every annotation.
    var name: String { get }
    /// Annotates one query. Throws a ``CouncilError`` when no valid annotation can be produced.
    func annotate(_ query: QuerySubmitted) async throws -> CouncilAnnotation
}
