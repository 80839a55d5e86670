import ArgumentParser
import CriticTesting
import Foundation
import RewardModel
import ServiceRuntime
import Settings

/// The critic's own settings: which backend answers, how requests are micro-batched, how many
/// threads a replica computes with. Read in this one place, flag > environment variable > default
/// (an empty variable counts as unset), from the environment snapshot `ServiceOptions` reads, and
/// checked at start-up with every problem reported at once.
public struct CriticOptions: ParsableArguments, Sendable {
    /// Names of the environment variables read here.
    enum Variable {
        static let backend = "CDRA_CRITIC_BACKEND"
        static let maxBatch = "CDRA_CRITIC_MAX_BATCH"
        static let maxWaitMs = "CDRA_CRITIC_MAX_WAIT_MS"
        static let threads = "CDRA_CRITIC_THREADS"
        static let finalScore = "CDRA_CRITIC_FINAL_SCORE"
    }

    /// Every environment variable read here (``ServiceOptions/environmentVariables`` lists the
    /// service-wide ones). The accessors see only these, so a name left out here reads as unset;
    /// `Tests/ComposeTests` compares what `compose.yaml` passes to the critic against it.
    public static let environmentVariables = [
        Variable.backend, Variable.maxBatch, Variable.maxWaitMs, Variable.threads, Variable.finalScore,
    ]

    /// Used when neither a flag nor a variable is given.
    enum Defaults {
        static let backend = CriticBackendKind.prm
        static let maxBatch = 16
        static let maxWaitMs = 20
        static let threads = 1
        static let finalScore = PRMCritic.FinalScore.generated
    }

    static let maxBatchRange = 1...1_024
    static let maxWaitMsRange = 0...60_000
    static let threadsRange = 1...256

    @Option(name: .customLong("backend"),
            help: "prm | scalar | oracle | llm | fixture (a deterministic test fixture, never for real requests). Env CDRA_CRITIC_BACKEND. Default prm.")
    var backendFlag: String?

    @Option(name: .customLong("max-batch"),
            help: "Most requests in one micro-batch (one backend call). Env CDRA_CRITIC_MAX_BATCH. Default 16.")
    var maxBatchFlag: String?

    @Option(name: .customLong("max-wait-ms"),
            help: "Longest a micro-batch waits for more requests after its first one. Env CDRA_CRITIC_MAX_WAIT_MS. Default 20.")
    var maxWaitMsFlag: String?

    @Option(name: .customLong("threads"),
            help: "Compute threads of this replica (BLAS and kernels); scale out with replicas instead. Env CDRA_CRITIC_THREADS. Default 1.")
    var threadsFlag: String?

    @Option(name: .customLong("final-score"),
            help: "prm backend: generated (the model's own final line) | aggregated (the step oracle's rule on the model's verdicts). Env CDRA_CRITIC_FINAL_SCORE. Default generated.")
    var finalScoreFlag: String?

    @Option(name: .customLong("fixture-delay-ms"),
            help: "Test fixture only: milliseconds the fixture backend spends on each request. Default 0.")
    public var fixtureDelayMs: Int?

    public init() {}

    /// The environment snapshot taken by `validate()`. Not a flag: ArgumentParser keeps
    /// non-wrapped stored properties at their default value.
    var capturedEnvironment: [String: String] = [:]
    var environmentCaptured = false

    var reader: EnvironmentReader {
        EnvironmentReader((environmentCaptured ? capturedEnvironment : ServiceOptions.environment)
            .filter { Self.environmentVariables.contains($0.key) })
    }

    private func value(_ flag: String?, _ variable: String) -> String? {
        if let flag { return flag }
        return reader.string(variable)
    }

    private func origin(_ flag: String?, _ variable: String) -> String {
        flag != nil ? "flag" : "environment variable \(variable)"
    }

    private func integer(_ flag: String?, _ variable: String, default fallback: Int) -> Int {
        value(flag, variable).flatMap { Int($0) } ?? fallback
    }

    // MARK: - Resolved values

    /// The backend that answers.
    /// Default: prm
    public var backend: CriticBackendKind {
        value(backendFlag, Variable.backend).flatMap { CriticBackendKind(rawValue: $0.lowercased()) } ?? Defaults.backend
    }

    /// Most requests per micro-batch.
    /// Default: 16
    public var maxBatch: Int { integer(maxBatchFlag, Variable.maxBatch, default: Defaults.maxBatch) }

    /// Longest a micro-batch waits for more requests after its first one, in milliseconds.
    /// Default: 20
    public var maxWaitMs: Int { integer(maxWaitMsFlag, Variable.maxWaitMs, default: Defaults.maxWaitMs) }

    public var maxWait: Duration { .milliseconds(maxWaitMs) }

    /// Compute threads of one replica.
    /// Default: 1
    public var threads: Int { integer(threadsFlag, Variable.threads, default: Defaults.threads) }

    /// Where the prm backend's final score comes from.
    /// Default: generated
    public var finalScore: PRMCritic.FinalScore {
        value(finalScoreFlag, Variable.finalScore).flatMap { PRMCritic.FinalScore(rawValue: $0.lowercased()) } ?? Defaults.finalScore
    }

    /// The fixture backend's settings (used only with `--backend fixture`).
    public var fixture: FixtureCritic {
        FixtureCritic(delayPerRequest: .milliseconds(fixtureDelayMs ?? 0))
    }

    /// The resolved settings on one line, for the start-up log.
    public var description: String {
        "backend=\(backend.rawValue) max.batch=\(maxBatch) max.wait.ms=\(maxWaitMs) threads=\(threads)"
            + (backend == .prm ? " final.score=\(finalScore.rawValue)" : "")
            + (backend == .fixture ? " fixture.delay.ms=\(fixtureDelayMs ?? 0)" : "")
    }

    // MARK: - Validation

    public mutating func validate() throws {
        if !environmentCaptured {
            capturedEnvironment = ServiceOptions.environment
            environmentCaptured = true
        }
        let problems = validationProblems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    /// Every problem, one sentence each naming its flag or variable; empty when valid.
    public func validationProblems() -> [String] {
        var problems: [String] = []
        if let raw = value(backendFlag, Variable.backend), CriticBackendKind(rawValue: raw.lowercased()) == nil {
            problems.append("Unknown critic backend '\(raw.prefix(40))' (from \(origin(backendFlag, Variable.backend))); expected one of \(CriticBackendKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        if let raw = value(finalScoreFlag, Variable.finalScore), PRMCritic.FinalScore(rawValue: raw.lowercased()) == nil {
            problems.append("Unknown final score '\(raw.prefix(40))' (from \(origin(finalScoreFlag, Variable.finalScore))); expected one of \(PRMCritic.FinalScore.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let integers: [(String, String?, String, ClosedRange<Int>)] = [
            ("Max batch", maxBatchFlag, Variable.maxBatch, Self.maxBatchRange),
            ("Max wait", maxWaitMsFlag, Variable.maxWaitMs, Self.maxWaitMsRange),
            ("Threads", threadsFlag, Variable.threads, Self.threadsRange),
        ]
        for (what, flag, variable, range) in integers {
            if let raw = value(flag, variable), Int(raw).map(range.contains) != true {
                problems.append("\(what) '\(raw.prefix(20))' (from \(origin(flag, variable))) must be an integer in \(range.lowerBound)...\(range.upperBound).")
            }
        }
        if let delay = fixtureDelayMs {
            if backend != .fixture { problems.append("--fixture-delay-ms is for the test fixture only; it needs --backend fixture.") }
            if !(0...60_000).contains(delay) { problems.append("--fixture-delay-ms \(delay) must be in 0...60000.") }
        }
        return problems
    }
}
