import Critique
import Events

/// One labelled PRM example: a response to an annotated query and the oracle's critique of it.
public struct PRMExample: Sendable, Equatable {
    public var queryID: String
    /// `train`, `validation`, `test` or `test_perturbed`.
    public var split: String
    public var profile: UserProfile
    public var question: String
    public var variant: ChainVariant
    /// The step oracle's critique chain (the training target).
    public var label: CritiqueChain

    public init(queryID: String, split: String, profile: UserProfile, question: String, variant: ChainVariant,
                label: CritiqueChain) {
        self.queryID = queryID
        self.split = split
        self.profile = profile
        self.question = question
        self.variant = variant
        self.label = label
    }

    /// A stable id for the stored response: the query id and the variant's origin.
    public var responseID: String { "\(queryID)/\(variant.origin)" }
}
