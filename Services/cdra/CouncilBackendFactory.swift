import ArgumentParser
import DeepPref

/// The council backends `cdra` can run, by name.
enum CouncilBackendName: String, ExpressibleByArgument, CaseIterable {
    case builtin
    case llm
}

/// Builds the council named on the command line. `llm` reads its endpoint from the environment
/// (`CDRA_LLM_BASE_URL`, `CDRA_LLM_MODEL`, key in `CDRA_LLM_API_KEY`; see Docs/council-llm.md).
func makeCouncilBackend(name: CouncilBackendName) throws -> any CouncilBackend {
    switch name {
    case .llm:
        return LLMCouncil(configuration: try LLMEndpointConfiguration.fromEnvironment())
    case .builtin:
        throw ValidationError("the built-in council is not part of this build yet; use --backend llm")
    }
}
