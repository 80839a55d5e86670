import ArgumentParser
import Foundation
import LanguageModel

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and sampling throughput of the standard config (prints JSON figures).")

    @Option(help: "Model preset.") var preset = "standard"
    @Option(help: "Timed training steps (after warmup).") var steps = 10
    @Option(help: "Untimed warmup steps.") var warmup = 2
    @Option(help: "Training batch size.") var batchSize = 8
    @Option(help: "Sampling batch size.") var sampleBatch = 16
    @Option(help: "Prompt tokens per sampled sequence.") var promptTokens = 16
    @Option(help: "New tokens per sampled sequence.") var sampleTokens = 128
    @Option(help: "BLAS and kernel threads.") var threads = 2
    @Option(help: "Write the figures as JSON to this file.") var json: String?

    func run() throws {
        BLAS.setThreadCount(threads)
        ParallelSettings.workerCount = threads
        guard let config = TransformerConfig.presets[preset] else { throw ValidationError("unknown preset \(preset)") }
        let B = batchSize, T = config.contextLength, C = config.channelCount, L = config.layerCount, V = config.vocabularySize
        print("bench: \(config), batch \(B), threads \(threads)")

        // machine sgemm rate on a square product of the size the model's big matmuls reach
        let n = 1024
        let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        BLAS.parallelSgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.data, lda: n, b: b.data, ldb: n, beta: 0, c: c.data, ldc: n)
        // best of several timed products: the machine is shared, the best run is its real rate
        var t0 = now()
        var sgemmGflops = 0.0
        for _ in 0..<8 {
            t0 = now()
            BLAS.parallelSgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.data, lda: n, b: b.data, ldb: n, beta: 0, c: c.data, ldc: n)
            sgemmGflops = max(sgemmGflops, 2 * Double(n * n * n) / (now() - t0) / 1e9)
        }
        print(String(format: "sgemm %dx%dx%d: %.1f GFLOP/s (OpenBLAS kernels: %@)", n, n, n, sgemmGflops, BLAS.coreName))

        // training
        let model = try Transformer(config: config, seed: 1)
        let optimizer = model.makeOptimizer()
        var rng = SeededGenerator(seed: 2)
        let tokens = (0..<(B * T * 4)).map { _ in Int32(rng.next() % UInt64(V)) }
        let data = TokenDataset(tokens: tokens)
        let batches = (0..<(steps + warmup)).map { _ in data.randomBatch(batchSize: B, sequenceLength: T, rng: &rng) }
        var trainSeconds = 0.0
        var bestStep = Double.infinity
        for (i, batch) in batches.enumerated() {
            t0 = now()
            try model.forward(batch)
            model.zeroGradients()
            model.backward()
            model.update(optimizer: optimizer, learningRate: 1e-4)
            if i >= warmup {
                trainSeconds += now() - t0
                bestStep = min(bestStep, now() - t0)
            }
        }
        let trainTokS = Double(steps * B * T) / trainSeconds
        // FLOPs the step executes in sgemm: forward matmuls + the blocked causal attention
        // products, and twice that in the backward pass.
        let N = Double(B * T)
        let matmul = 2 * N * Double(L) * Double(C * 3 * C + C * C + C * 4 * C + 4 * C * C) + 2 * N * Double(C * V)
        let attention = 4 * Double(B) * Double(attentionBlockArea(T)) * Double(C) * Double(L)
        let stepFlops = 3 * (matmul + attention)
        let trainGflops = stepFlops * Double(steps) / trainSeconds / 1e9
        let bestTokS = Double(B * T) / bestStep, bestGflops = stepFlops / bestStep / 1e9
        print(String(format: "train: %.0f tokens/s mean (%.1f ms/step, %.1f GFLOP/s = %.0f%% of sgemm); best step %.0f tokens/s, %.1f GFLOP/s",
                     trainTokS, trainSeconds / Double(steps) * 1000, trainGflops, 100 * trainGflops / sgemmGflops, bestTokS, bestGflops))

        // sampling with the KV cache
        let prompts = (0..<sampleBatch).map { _ in (0..<promptTokens).map { _ in Int32(rng.next() % UInt64(V)) } }
        let options = SamplingOptions(temperature: 1.0, maxNewTokens: sampleTokens, seed: 3)
        _ = try model.generate(prompts: prompts, options: SamplingOptions(temperature: 1.0, maxNewTokens: 4, seed: 3))
        t0 = now()
        let out = try model.generate(prompts: prompts, options: options)
        let sampleSeconds = now() - t0
        let sampled = out.reduce(0) { $0 + $1.tokens.count }
        let sampleTokS = Double(sampled) / sampleSeconds
        print(String(format: "sample: %.0f tokens/s (batch %d, %d prompt + %d new tokens, KV cache)",
                     sampleTokS, sampleBatch, promptTokens, sampleTokens))
        let peak = peakResidentMegabytes()
        print(String(format: "peak RSS: %.0f MiB", peak))

        let result: [String: Any] = [
            "config": ["vocab": V, "context": T, "layers": L, "heads": config.headCount, "d_model": C,
                       "params": config.parameterCount],
            "batch_size": B, "threads": threads, "steps": steps,
            "train_tok_s": trainTokS, "train_step_ms": trainSeconds / Double(steps) * 1000,
            "train_gflops": trainGflops, "sgemm_gflops": sgemmGflops,
            "train_tok_s_best_step": bestTokS, "train_gflops_best_step": bestGflops, "train_step_gflop": stepFlops / 1e9,
            "sample_tok_s": sampleTokS, "sample_batch": sampleBatch, "sample_new_tokens": sampleTokens,
            "peak_rss_mb": peak,
        ]
        if let json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
    }
}
