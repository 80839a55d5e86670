import ArgumentParser
import Foundation
import LanguageModel

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample", abstract: "Sample text from a checkpoint.")

    @Option(help: "Checkpoint file (.safetensors written by lm train).") var checkpoint: String
    @Option(help: "Prompt text; repeat for a batch. Special tokens such as <|user|> are recognised.")
    var prompt: [String] = ["<|bos|>"]
    @Option(help: "Most new tokens per prompt.") var maxTokens = 128
    @Option(help: "Temperature (0 = greedy).") var temperature: Float = 0.8
    @Option(help: "Top-k (0 disables).") var topK = 0
    @Option(help: "Top-p (1 disables).") var topP: Float = 0.95
    @Option(help: "Stop token (a special token such as <|eos|>); repeatable.") var stop: [String] = []
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "BLAS threads.") var threads = 2
    @Flag(help: "Print each sampled token's log-probability.") var logprobs = false

    func run() throws {
        BLAS.setThreadCount(threads)
        ParallelSettings.workerCount = threads
        let cp = try Checkpoint(contentsOf: URL(fileURLWithPath: checkpoint))
        guard let tokenizer = cp.tokenizer else { throw ValidationError("checkpoint has no tokenizer") }
        var stopIDs: Set<Int32> = []
        for s in stop {
            guard let id = tokenizer.specialID(s) else { throw ValidationError("\(s) is not a special token of this tokenizer") }
            stopIDs.insert(id)
        }
        let prompts = prompt.map { tokenizer.encode($0, allowingSpecialTokens: true) }
        let options = SamplingOptions(temperature: temperature, topK: topK, topP: topP, maxNewTokens: maxTokens,
                                      stopTokens: stopIDs, seed: seed)
        let start = now()
        let out = try cp.model.generate(prompts: prompts, options: options)
        let elapsed = now() - start
        for (p, g) in zip(prompt, out) {
            print("--- prompt: \(p.debugDescription) (\(g.tokens.count) tokens, \(g.finishReason.rawValue))")
            print(p + tokenizer.decode(g.tokens))
            if logprobs {
                print(zip(g.tokens, g.logProbs).map { "\(tokenizer.decode([$0]).debugDescription):\(String(format: "%.3f", $1))" }
                    .joined(separator: " "))
            }
        }
        let total = out.reduce(0) { $0 + $1.tokens.count }
        print(String(format: "sampled %d tokens in %.2fs (%.0f tokens/s)", total, elapsed, Double(total) / elapsed))
    }
}
