import ArgumentParser
import Foundation
import PolicyOptimization
import PolicyTraining
import ServiceRuntime
import Store
import Tensor

/// `policy-trainer experiment` (`make experiment`, `cdra experiment`): SFT only, GRPO and CDPA
/// (both variants) from the same warm start, with the same data and step budget, over several
/// seeds and both reward settings (the PRM's fine scores, and coarse bands). The RL runs are child
/// processes of `policy-trainer train`, side by side and single-threaded, scored by critic
/// replicas over Kafka. Runs already done are reused (a run resumes where it stopped). The table
/// is printed, written to bench-results/experiment-<study>.json and stored in `training_metrics`
/// (run `<study>/<method>/<reward>`).
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "SFT vs GRPO vs CDPA over seeds and reward settings; print and store one table.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var policy: PolicyOptions
    @Option(help: "Study id (run ids are <study>-<method>-<reward>-s<seed>).") var study = "study"
    @Option(help: "Seeds per method (1...n).") var seedCount = 3
    @Option(help: "RL methods, comma-separated.") var methods = "grpo,cdpa,cdpa-step"
    @Option(help: "Reward settings, comma-separated.") var rewards = "fine,coarse"
    @Option(help: "Runs side by side (one thread each).") var parallel = 2
    @Option(help: "Critic backend of the replicas: prm, scalar or oracle.") var criticBackend = "prm"
    @Option(help: "Critic replicas this command starts (one thread each); 0 with --requests-topic: use critics already running.")
    var criticReplicas = 1
    @Option(help: "Topic of critics already running (default: a new topic for the replicas this command starts).")
    var requestsTopic: String?
    @Flag(help: "Announce the runs' checkpoints on training.checkpoints.v1 (for the evaluator).") var announce = false
    @Option(help: "The critic executable (default: beside this one).") var criticExecutable: String?

    static let columns: [(key: String, title: String)] = [
        ("eval_acc_pf", "acc_pf"), ("eval_m_dm", "m_dm"), ("eval_hidden_recall", "hidden recall"),
        ("eval_oracle_score", "oracle score"), ("prm_score", "critic score"), ("zero_advantage_group_fraction", "zero-adv groups"),
        ("eval_format_valid", "format valid"), ("eval_auc", "eval AUC"),
    ]

    func run() async throws {
        // The warm start is trained in this process with both threads, before the runs start.
        let setup = try await CommandSetup(service: "policy-trainer-experiment", options: options, policy: policy, threads: 2)
        let config = setup.config, database = setup.database
        defer { database.shutdown() }
        let methodList = methods.split(separator: ",").map(String.init)
        let rewardList = try rewards.split(separator: ",").map { name -> RewardSetting in
            guard let r = RewardSetting(rawValue: String(name)) else { throw ValidationError("unknown reward setting '\(name)'") }
            return r
        }
        for m in methodList where AdvantageEstimator(name: m) == nil {
            throw ValidationError("unknown method '\(m)' (grpo, cdpa, cdpa-step)")
        }
        guard seedCount >= 1, parallel >= 1 else { throw ValidationError("--seed-count and --parallel must be positive") }
        guard criticReplicas >= 0, criticReplicas > 0 || requestsTopic != nil else {
            throw ValidationError("--critic-replicas must be positive, or 0 with --requests-topic naming critics already running")
        }
        let started = Date()
        let train = try await PolicyData.items(database, split: "train")
        let validation = try await PolicyData.items(database, split: "validation")
        guard !train.isEmpty else { throw PolicyTrainingError.noData("no annotated train-split queries in PostgreSQL") }
        let warm = try await PolicyData.warmStart(config, train: train, validation: Array(validation.prefix(100)), database: database,
                                                  options: options, announce: true, log: PolicyRun.log)
        print("experiment \(study): warm start \(warm.id) (\(warm.trained ? "trained" : "reused")); \(methodList.count) methods × "
              + "\(rewardList.count) reward settings × \(seedCount) seeds, \(config.steps) steps each, \(parallel) side by side")

        // Critic replicas for the whole study.
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let requests = requestsTopic ?? "experiment.\(study).requests.\(suffix)"
        let critics = try CriticReplicas(executable: criticExecutable, backend: criticBackend, count: criticReplicas,
                                         group: "experiment-\(study)-\(suffix)", requestsTopic: requests, name: "experiment-\(study)")
        defer { critics.stop() }

        // The runs, `parallel` at a time.
        struct Planned { var id: String; var method: String; var reward: RewardSetting; var seed: Int }
        var queue: [Planned] = []
        for reward in rewardList { for method in methodList { for seed in 1...seedCount {
            queue.append(Planned(id: "\(study)-\(method)-\(reward.rawValue)-s\(seed)", method: method, reward: reward, seed: seed))
        } } }
        let trainer = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var running: [(Planned, Process, URL)] = []
        var failures: [String] = []
        var stopped: [String] = []   // stopped by the guard: their steps so far count
        var done = 0
        let total = queue.count
        while !queue.isEmpty || !running.isEmpty {
            while running.count < parallel, !queue.isEmpty {
                let p = queue.removeFirst()
                let log = URL(fileURLWithPath: "bench-results/logs/experiment-\(p.id).log")
                var arguments = ["train", "--run-id", p.id, "--estimator", p.method, "--reward", p.reward.rawValue, "--seed", "\(p.seed)",
                                 "--requests-topic", requests, "--threads", "1"] + (announce ? [] : ["--no-announce"])
                arguments += Self.forwarded(policy)
                running.append((p, try LoggedProcess.start(executable: trainer, arguments: arguments,
                                                           environment: ProcessInfo.processInfo.environment, logURL: log), log))
                print("experiment \(study): started \(p.id) (log \(log.path))")
            }
            try await Task.sleep(for: .milliseconds(500))
            try critics.checkAlive()
            for (i, entry) in running.enumerated().reversed() where !entry.1.isRunning {
                running.remove(at: i)
                done += 1
                let status = entry.1.terminationStatus
                let elapsed = Date().timeIntervalSince(started)
                if status == TrainCommand.stoppedByGuard {
                    stopped.append(entry.0.id)
                } else if status != 0 {
                    let tail = ((try? String(contentsOf: entry.2, encoding: .utf8)) ?? "").suffix(600)
                    failures.append("\(entry.0.id) exited with status \(status): …\(tail)")
                }
                print(String(format: "experiment %@: %@ %@ (%d/%d runs, %.0f s elapsed, ETA %@)", study, entry.0.id,
                             status == 0 ? "done" : status == TrainCommand.stoppedByGuard ? "stopped by the guard" : "FAILED",
                             done, total, elapsed,
                             TrainingProgressBar.duration(elapsed / Double(done) * Double(total - done))))
            }
        }
        guard failures.isEmpty else { throw TrainerFailure("experiment \(study): \(failures.count) run(s) failed:\n" + failures.joined(separator: "\n")) }

        // The table.
        let metrics = try await database.withConnection { connection in
            try connection.execute(
                "SELECT run_id, name, step, value FROM training_metrics WHERE run_id LIKE $1 || '-%' ORDER BY run_id, name, step",
                [.text(study)])
        }
        var byRun: [String: [String: [(Int, Double)]]] = [:]
        for row in metrics {
            byRun[try row.string("run_id")!, default: [:]][try row.string("name")!, default: []].append((try row.int("step")!, try row.double("value")!))
        }
        func summary(_ run: String) -> [String: Double]? {
            guard let m = byRun[run] else { return nil }
            var out: [String: Double] = [:]
            for key in ["eval_acc_pf", "eval_m_dm", "eval_hidden_recall", "eval_oracle_score", "eval_format_valid"] {
                if let last = m[key]?.last { out[key] = last.1 }
            }
            if let curve = m["eval_oracle_score"], curve.count >= 2 {
                var area = 0.0
                for (a, b) in zip(curve, curve.dropFirst()) { area += Double(b.0 - a.0) * (a.1 + b.1) / 2 }
                out["eval_auc"] = area / Double(curve.last!.0 - curve.first!.0)
            }
            if let z = m["zero_advantage_group_fraction"], !z.isEmpty { out["zero_advantage_group_fraction"] = z.map(\.1).reduce(0, +) / Double(z.count) }
            if let r = m["reward_mean"], !r.isEmpty {
                let tail = r.suffix(max(1, r.count / 5))
                out["prm_score"] = tail.map(\.1).reduce(0, +) / Double(tail.count)
            }
            return out
        }
        var rows: [(name: String, reward: String, values: [String: (mean: Double, std: Double, n: Int)])] = []
        // SFT only: the warm start's evaluation (step 0 of any run: the same weights, prompts and seed).
        if let first = byRun.keys.sorted().first, let sft = byRun[first] {
            var values: [String: (Double, Double, Int)] = [:]
            for key in ["eval_acc_pf", "eval_m_dm", "eval_hidden_recall", "eval_oracle_score", "eval_format_valid"] {
                if let v = sft[key]?.first(where: { $0.0 == 0 })?.1 { values[key] = (v, 0, 1) }
            }
            rows.append(("sft", "-", values))
        }
        for reward in rewardList { for method in methodList {
            let runs = (1...seedCount).compactMap { summary("\(study)-\(method)-\(reward.rawValue)-s\($0)") }
            var values: [String: (Double, Double, Int)] = [:]
            for (key, _) in Self.columns {
                let xs = runs.compactMap { $0[key] }
                guard !xs.isEmpty else { continue }
                let mean = xs.reduce(0, +) / Double(xs.count)
                let std = xs.count > 1 ? (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)).squareRoot() : 0
                values[key] = (mean, std, xs.count)
            }
            rows.append((method, reward.rawValue, values))
        } }
        let header = "| method | reward | " + Self.columns.map(\.title).joined(separator: " | ") + " |"
        var table = [header, "|" + String(repeating: "---|", count: Self.columns.count + 2)]
        for row in rows {
            table.append("| \(row.name) | \(row.reward) | " + Self.columns.map { c in
                row.values[c.key].map { String(format: "%.3f ± %.3f", $0.mean, $0.std) } ?? "-"
            }.joined(separator: " | ") + " |")
        }
        if !stopped.isEmpty {
            print("experiment \(study): stopped by the reward-hacking guard before their last step (their steps so far are in the table): \(stopped.joined(separator: ", "))")
        }
        print("\nexperiment \(study): \(config.steps) steps, \(seedCount) seeds, mean ± std over seeds; evaluation on \(config.evalPrompts) validation prompts every \(config.evalEvery) steps (oracle judge)")
        print(table.joined(separator: "\n"))
        let stored = rows
        try await retrying("storing the table", log: PolicyRun.log) {
            try await database.withConnection { connection in
                for row in stored {
                    var m: [String: Double] = [:]
                    for (key, v) in row.values { m[key + "_mean"] = v.mean; m[key + "_std"] = v.std; m[key + "_n"] = Double(v.n) }
                    try TrainingMetricsRepository(connection).record(runID: "\(study)/\(row.name)/\(row.reward)", step: config.steps, metrics: m)
                }
            }
        }
        let json: [String: Any] = [
            "study": study, "steps": config.steps, "seeds": seedCount, "critic_backend": criticBackend, "warm_start": warm.id,
            "seconds": Date().timeIntervalSince(started), "stopped_by_guard": stopped, "table_markdown": table.joined(separator: "\n"),
            "rows": rows.map { r in ["method": r.name, "reward": r.reward,
                                     "values": r.values.mapValues { ["mean": $0.mean, "std": $0.std, "n": $0.n] }] as [String: Any] },
        ]
        try FileManager.default.createDirectory(atPath: "bench-results", withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "bench-results/experiment-\(study).json"))
        print(String(format: "experiment %@: %.0f s; wrote bench-results/experiment-%@.json; stored as runs %@/<method>/<reward>",
                     study, Date().timeIntervalSince(started), study, study))
    }

    /// The configuration flags given to this command, passed on to every run.
    static func forwarded(_ p: PolicyOptions) -> [String] {
        var a: [String] = []
        func add<T>(_ flag: String, _ value: T?) { if let value { a += [flag, "\(value)"] } }
        add("--config", p.config); add("--lambda", p.lambda); add("--aggregation", p.aggregation); add("--steps", p.steps)
        add("--prompts-per-step", p.promptsPerStep); add("--group-size", p.groupSize); add("--learning-rate", p.learningRate)
        add("--beta", p.beta); add("--inner-epochs", p.innerEpochs); add("--max-new-tokens", p.maxNewTokens)
        add("--checkpoint-every", p.checkpointEvery); add("--eval-every", p.evalEvery); add("--eval-prompts", p.evalPrompts)
        add("--sft-epochs", p.sftEpochs); add("--channels", p.channels); add("--layers", p.layers)
        add("--oracle-share", p.oracleShare); add("--gap-threshold", p.gapThreshold); add("--patience", p.patience)
        add("--max-refreshes", p.maxRefreshes)
        return a
    }
}
