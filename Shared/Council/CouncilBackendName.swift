import ChatCompletions
import DeepPref
import SentenceEncoder

/// The council backends a command or service can run, by name.
public enum CouncilBackendName: String, CaseIterable, Sendable {
    /// Knowledge-pack rules (the lexicon's keywords and distractor masks); deterministic, needs
    /// nothing outside the machine.
    case builtin
    /// The built-in council that also reads situations, paraphrases and topic priors, decided by
    /// the pack's calibration, with the pinned sentence encoder (all-MiniLM-L6-v2, installed by
    /// Compose/local/install.sh); deterministic. Annotations are stored under backend `situated`.
    case situated
    /// Persona prompts to an OpenAI-compatible endpoint: `CDRA_LLM_BASE_URL`, `CDRA_LLM_MODEL`,
    /// key in `CDRA_LLM_API_KEY` (Docs/council-llm.md).
    case llm

    /// Builds the backend; throws when the knowledge pack or the endpoint configuration is unusable.
    public func makeBackend() throws -> any CouncilBackend {
        switch self {
        case .builtin: return BuiltinCouncil(pack: try KnowledgePack.builtin())
        case .situated:
            // The model is loaded (and checked against its pinned digest) here, at start-up; a
            // missing or corrupted file stops the command, there is no keyword-only fall-back.
            let encoder: SentenceEncoder
            do { encoder = try SentenceEncoder() } catch let error as SentenceEncoderError {
                throw CouncilError(.configuration, error.description)
            }
            return try BuiltinCouncil(pack: try KnowledgePack.builtin(), encoder: encoder)
        case .llm:
            do {
                return LLMCouncil(configuration: try LLMEndpointConfiguration.fromEnvironment())
            } catch let error as ChatCompletionsError {
                throw CouncilError(error)
            }
        }
    }
}
