import ChatCompletions
import DeepPref

/// The council backends a command or service can run, by name.
public enum CouncilBackendName: String, CaseIterable, Sendable {
    /// Knowledge-pack rules; deterministic, needs nothing outside the machine.
    case builtin
    /// Persona prompts to an OpenAI-compatible endpoint: `CDRA_LLM_BASE_URL`, `CDRA_LLM_MODEL`,
    /// key in `CDRA_LLM_API_KEY` (Docs/council-llm.md).
    case llm

    /// Builds the backend; throws when the knowledge pack or the endpoint configuration is unusable.
    public func makeBackend() throws -> any CouncilBackend {
        switch self {
        case .builtin: return BuiltinCouncil(pack: try KnowledgePack.builtin())
        case .llm:
            do {
                return LLMCouncil(configuration: try LLMEndpointConfiguration.fromEnvironment())
            } catch let error as ChatCompletionsError {
                throw CouncilError(error)
            }
        }
    }
}
