import DeepPref

extension CouncilPersona {
    /// The personas of the shipped knowledge pack: the six the published work names. The LLM
    /// council prompts each with its ``lens``.
    public static let standard: [CouncilPersona] = shippedPack.personas

    /// Dimension names suggested to the models: the shipped pack's. Others are accepted when given
    /// in snake_case.
    public static let suggestedDimensions: [String] = shippedPack.dimensions.map(\.name)

    private static var shippedPack: KnowledgePack {
        do {
            return try KnowledgePack.builtin()
        } catch {
            // The pack is part of the build and covered by its tests; a failure here is a broken build.
            preconditionFailure("the shipped knowledge pack does not load: \(error)")
        }
    }
}
