import ArgumentParser
import DeepPref
import Foundation
import SentenceEncoder
import Tensor

/// The council's sentence encoder: start-up (digest check and weights), then sentences per second
/// one at a time and in batches, on the pack's own sentences.
struct EncoderBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder", abstract: "Sentence-encoder start-up time and sentences per second.")

    @Option(help: "Sentences to embed per measurement.")
    var sentences = 2000

    @Option(help: "Compute threads (1 is what one council replica uses per query).")
    var threads = 1

    @Option(help: "Sentences per call, comma-separated.")
    var batchSizes = "1,8,32"

    func run() async throws {
        BLAS.setThreadCount(threads)
        var started = Date()
        let encoder = try SentenceEncoder()
        let load = Date().timeIntervalSince(started)
        let pack = try KnowledgePack.builtin()
        var texts = pack.dimensions.flatMap { $0.cueSentences + $0.heldOutCues }
        texts += pack.topics.flatMap { $0.surfaceAnswers }
        while texts.count < sentences { texts += texts }
        texts = Array(texts.prefix(sentences))
        let tokens = texts.map { encoder.tokenizer.encode($0, maxLength: SentenceEncoder.maxTokens).count }
        print(String(format: "start-up          %.2f s (SHA-256 of the model files and reading the weights)", load))
        print(String(format: "sentences         %d (mean %.1f tokens)", texts.count, Double(tokens.reduce(0, +)) / Double(texts.count)))
        for batch in batchSizes.split(separator: ",").compactMap({ Int($0) }) where batch > 0 {
            started = Date()
            var i = 0
            while i < texts.count {
                _ = encoder.embed(Array(texts[i..<min(texts.count, i + batch)]))
                i += batch
            }
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "batch %-3d         %.0f sentences/s (%d thread%@)", batch, Double(texts.count) / seconds,
                         threads, threads == 1 ? "" : "s"))
        }
    }
}
