import ChatCompletions
import Critique
import CriticTesting
import DeepPref
import Events
import OracleJudge
import RewardModel
import Store

/// Builds a critic backend from a stored PRM checkpoint (its weights and configuration).
public typealias CheckpointLoader = @Sendable (CheckpointRecord) throws -> any CriticBackend

/// The backends `critic serve --backend` can run, and how each one is made.
public enum CriticBackendKind: String, CaseIterable, Sendable {
    /// The generative PRM (Pers-GenPRM), loaded from the newest `prm` checkpoint.
    case prm
    /// The scalar-head baseline, loaded from the newest `prm` checkpoint.
    case scalar
    /// The rule-based oracle judge; needs no checkpoint.
    case oracle
    /// A chat-completions endpoint (`CDRA_LLM_BASE_URL`, `CDRA_LLM_MODEL`).
    case llm
    /// The deterministic test fixture (`FixtureCritic`): for the end-to-end tests and the
    /// benchmark, never for real requests.
    case fixture

    /// Whether the backend comes from PRM checkpoints, so a replica loads the newest one at start
    /// and again when a `checkpoint_published` with model kind `prm` arrives.
    public var followsCheckpoints: Bool {
        switch self {
        case .prm, .scalar, .fixture: return true
        case .oracle, .llm: return false
        }
    }
}

/// What a replica answers with before and between checkpoints, and how it loads one.
public struct CriticBackendFactory: Sendable {
    public var kind: CriticBackendKind
    /// The fixture's settings, for `--backend fixture`.
    /// Default: FixtureCritic()
    public var fixture: FixtureCritic
    /// Overrides the kind's own loader (tests, and the reward-model loader once it is wired).
    /// Default: nil
    public var loaderOverride: CheckpointLoader?
    /// Generations per request before a PRM critique is reported malformed. Default: 3
    public var maxAttempts = 3
    /// Where the prm backend's final score comes from. Default: generated
    public var finalScore = PRMCritic.FinalScore.generated
    /// Looks up the council annotations the `oracle` backend judges against. Default: nil (the
    /// oracle backend then fails every request, saying so)
    public var annotationLookup: (@Sendable ([String]) async throws -> [String: AnnotatedQuery])?

    public init(kind: CriticBackendKind, fixture: FixtureCritic = FixtureCritic(), loaderOverride: CheckpointLoader? = nil) {
        self.kind = kind
        self.fixture = fixture
        self.loaderOverride = loaderOverride
    }

    /// The backend a replica starts with, before a checkpoint is loaded. For `prm` and `scalar`
    /// this is a stand-in that fails every request until a checkpoint is there.
    public func initialBackend() -> any CriticBackend {
        switch kind {
        case .prm, .scalar:
            return UnavailableCritic(name: kind.rawValue, reason: Self.noCheckpointReason)
        case .oracle:
            guard let lookup = annotationLookup else {
                return UnavailableCritic(name: "oracle", reason: "the oracle backend has no annotation source")
            }
            do {
                return OracleCritic(pack: try KnowledgePack.builtin(), lookup: lookup)
            } catch {
                return UnavailableCritic(name: "oracle", reason: "the knowledge pack does not load: \(error)")
            }
        case .llm:
            do {
                return LLMCritic(configuration: try LLMEndpointConfiguration.fromEnvironment())
            } catch {
                return UnavailableCritic(name: "llm", reason: "the llm backend is not configured: \(error)")
            }
        case .fixture:
            return fixture
        }
    }

    /// How a checkpoint becomes a backend; nil for the backends that use no checkpoint.
    public var loader: CheckpointLoader? {
        if let loaderOverride { return loaderOverride }
        switch kind {
        case .prm, .scalar:
            let wanted: PRMTarget = kind == .prm ? .critique : .scalar
            let attempts = maxAttempts, finalScore = finalScore
            return { record in
                let target = PRMTrainingConfig.target(inConfigJSON: record.configJSON) ?? .critique
                guard target == wanted else {
                    throw CriticSetupError("checkpoint \(record.checkpointID) is a \(target.rawValue) model; "
                                           + "the \(wanted == .critique ? "prm" : "scalar") backend needs a \(wanted.rawValue) one")
                }
                return try PRMCritic.load(checkpointID: record.checkpointID, safetensors: record.safetensors,
                                          configJSON: record.configJSON, maxAttempts: attempts, finalScore: finalScore)
            }
        case .fixture:
            let template = fixture
            return { record in
                FixtureCritic(checkpointID: record.checkpointID, delayPerRequest: template.delayPerRequest,
                              contextCharacters: template.contextCharacters)
            }
        case .oracle, .llm:
            return nil
        }
    }

    /// Which stored `prm` checkpoints this kind can load (a jsonb `@>` filter on their config):
    /// the PRM's or the scalar baseline's; nil for the fixture, which loads any.
    public var checkpointFilter: String? {
        switch kind {
        case .prm: return PRMTrainingConfig.checkpointFilter(target: .critique)
        case .scalar: return PRMTrainingConfig.checkpointFilter(target: .scalar)
        default: return nil
        }
    }

    /// Why a `prm` or `scalar` replica cannot answer yet, with the command that fixes it.
    public static let noCheckpointReason = "no prm checkpoint is loaded: there is none in the database yet (train one with `critic train`)"
}

/// A backend that could not be set up (a checkpoint that does not load, a missing module). Not
/// retriable: the same setup fails again.
struct CriticSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
