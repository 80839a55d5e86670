import Foundation
import Testing
import LanguageModel

private let config = TransformerConfig(vocabularySize: 97, contextLength: 24, layerCount: 2, headCount: 2, channelCount: 32)
private let prompts: [[Int32]] = [[5, 17, 33], [80], [1, 2, 3, 4, 5, 6, 7, 8, 9]]

@Test func kvCacheLogProbsMatchTheFullForwardPass() throws {
    let model = try Transformer(config: config, seed: 3)
    let out = try model.generate(prompts: prompts, options: SamplingOptions(temperature: 1, maxNewTokens: 10, seed: 11))
    let full = try model.sequenceLogProbs(zip(prompts, out).map { $0 + $1.tokens })
    var worst: Float = 0
    for (i, g) in out.enumerated() {
        #expect(g.tokens.count == 10 && g.finishReason == .length)
        let teacher = Array(full[i].suffix(g.tokens.count))
        worst = max(worst, zip(teacher, g.logProbs).reduce(0) { max($0, abs($1.0 - $1.1)) })
    }
    print("generation: KV-cache vs full-forward log-prob max |diff| \(worst)")
    #expect(worst < 1e-4)
}

@Test func greedyPicksTheArgmaxAndTopKOneIsGreedy() throws {
    let model = try Transformer(config: config, seed: 4)
    let greedy = try model.generate(prompts: prompts, options: SamplingOptions(temperature: 0, maxNewTokens: 6))
    let topK = try model.generate(prompts: prompts, options: SamplingOptions(temperature: 0.8, topK: 1, maxNewTokens: 6, seed: 99))
    let topP = try model.generate(prompts: prompts, options: SamplingOptions(temperature: 1.0, topP: 1e-6, maxNewTokens: 6, seed: 5))
    #expect(greedy.map(\.tokens) == topK.map(\.tokens))
    #expect(greedy.map(\.tokens) == topP.map(\.tokens))
    // argmax check against the full forward pass
    let seq = prompts[0] + greedy[0].tokens
    let batch = TokenBatch(batchSize: 1, sequenceLength: seq.count - 1, inputs: Array(seq.dropLast()), targets: Array(seq.dropFirst()))
    try model.forward(batch)
    let logits = model.logits, V = config.vocabularySize
    for t in (prompts[0].count - 1)..<(seq.count - 1) {
        let row = logits[(t * V)..<((t + 1) * V)]
        #expect(Int(seq[t + 1]) == row.indices.max { row[$0] < row[$1] }! - t * V)
    }
}

@Test func sameSeedSameTextAndBatchingDoesNotChangeASequence() throws {
    let model = try Transformer(config: config, seed: 5)
    let options = SamplingOptions(temperature: 1.0, topK: 20, topP: 0.9, maxNewTokens: 12, seed: 1234)
    let a = try model.generate(prompts: prompts, options: options)
    let b = try model.generate(prompts: prompts, options: options)
    #expect(a == b)
    var other = options
    other.seed = 4321
    #expect(try model.generate(prompts: prompts, options: other).map(\.tokens) != a.map(\.tokens))
    // the first sequence alone equals the first sequence of the batch
    let alone = try model.generate(prompts: [prompts[0]], options: options)
    // same tokens; log-probs may differ in the last bits because BLAS blocks a 1-row and a 3-row
    // product differently
    #expect(alone[0].tokens == a[0].tokens)
    #expect(zip(alone[0].logProbs, a[0].logProbs).allSatisfy { abs($0 - $1) < 1e-5 })
}

@Test func stopTokensAndLengthLimitsEndGeneration() throws {
    let model = try Transformer(config: config, seed: 6)
    let free = try model.generate(prompts: prompts, options: SamplingOptions(maxNewTokens: 8, seed: 2))
    let stop = free[0].tokens[2]
    let stopped = try model.generate(prompts: prompts, options: SamplingOptions(maxNewTokens: 8, stopTokens: [stop], seed: 2))
    let firstStop = free[0].tokens.firstIndex(of: stop)!
    #expect(stopped[0].tokens == Array(free[0].tokens[...firstStop]))
    #expect(stopped[0].finishReason == .stop)
    // the context (24) caps a 9-token prompt at 15 new tokens
    let long = try model.generate(prompts: [prompts[2]], options: SamplingOptions(maxNewTokens: 100, seed: 1))
    #expect(long[0].tokens.count == 24 - 9 + 1 && long[0].finishReason == .length)
    #expect(throws: ModelError.self) { try model.generate(prompts: [[]], options: SamplingOptions()) }
    #expect(throws: ModelError.self) { try model.generate(prompts: [[500]], options: SamplingOptions()) }
}

@Test func weightedLossGradientIsTheWeightedSumOfPerTokenGradients() throws {
    // the policy-gradient contract: backward of Σ w_t·CE_t equals Σ w_t · (gradient of CE_t alone)
    let model = try Transformer(config: config, seed: 7)
    let inputs: [Int32] = [1, 2, 3, 4, 5, 6], targets: [Int32] = [2, 3, 4, 5, 6, 7]
    let weights: [Float] = [0, 0.5, -1.5, 0, 2, -0.25]
    try model.forward(TokenBatch(batchSize: 1, sequenceLength: 6, inputs: inputs, targets: targets, weights: weights))
    model.zeroGradients()
    model.backward()
    let combined = model.gradients.toArray()
    var summed = [Float](repeating: 0, count: combined.count)
    for t in 0..<6 where weights[t] != 0 {
        var one = [Float](repeating: 0, count: 6)
        one[t] = 1
        try model.forward(TokenBatch(batchSize: 1, sequenceLength: 6, inputs: inputs, targets: targets, weights: one))
        model.zeroGradients()
        model.backward()
        let g = model.gradients.toArray()
        for i in summed.indices { summed[i] += weights[t] * g[i] }
    }
    let scale = combined.reduce(Float(0)) { max($0, abs($1)) }
    let diff = zip(combined, summed).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    print("weighted loss: max |diff| \(diff) of max |grad| \(scale)")
    #expect(scale > 0 && diff < 1e-4 * scale)
}

@Test func lossMaskTrainsOnlyOnMarkedTokens() throws {
    // prompt tokens (false) are context only; the response tokens (true) are the targets
    let seqs: [[Int32]] = [[1, 2, 3, 4, 5], [6, 7, 8]]
    let masks: [[Bool]] = [[false, false, true, true, true], [false, true, true]]
    let batch = TokenBatch(sequences: seqs, lossMasks: masks)
    #expect(batch.batchSize == 2 && batch.sequenceLength == 4)
    #expect(batch.targets == [-1, 3, 4, 5, 7, 8, -1, -1])
    #expect(batch.weights == [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0, 0])
    let model = try Transformer(config: config, seed: 8)
    let loss = try model.forward(batch)
    let perToken = model.tokenLosses
    let expected = [1, 2, 3, 4, 5].reduce(Float(0)) { $0 + perToken[$1] } / 5
    #expect(abs(loss - expected) < 1e-6)
}

@Test func guidedTokensAreFedAsIfTheyWereInThePrompt() throws {
    let model = try Transformer(config: config, seed: 5)
    let greedy = SamplingOptions(temperature: 0, maxNewTokens: 8)
    let fixed: [Int32] = [40, 41, 42]
    var sampled = [0, 0]
    let guided = try model.generate(prompts: [prompts[0], prompts[1]], options: greedy) { s, _ in
        sampled[s] += 1
        guard s == 0 else { return .proceed }
        if sampled[0] == 2 { return .feed(fixed) }
        return sampled[0] == 5 ? .finish : .proceed
    }
    // Sequence 0: two sampled, three fed, three more sampled, then finished by the guide.
    #expect(guided[0].tokens.count == 5 && guided[0].finishReason == .stop)
    let resumed = try model.generate(prompts: [prompts[0] + guided[0].tokens.prefix(2) + fixed],
                                     options: SamplingOptions(temperature: 0, maxNewTokens: 3))
    #expect(Array(guided[0].tokens.suffix(3)) == resumed[0].tokens)
    let worst = zip(guided[0].logProbs.suffix(3), resumed[0].logProbs).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    #expect(worst < 1e-4, "fed tokens change the cache: log-prob diff \(worst)")
    // Sequence 1 is unaffected by what was fed into sequence 0.
    let alone = try model.generate(prompts: [prompts[1]], options: greedy)
    #expect(guided[1].tokens == alone[0].tokens)
    // Fed tokens that do not fit the context end the sequence; a token outside the vocabulary is an error.
    let overflow = try model.generate(prompts: [prompts[2]], options: greedy) { _, _ in .feed([Int32](repeating: 7, count: 20)) }
    #expect(overflow[0].tokens.count == 1 && overflow[0].finishReason == .length)
    #expect(throws: ModelError.self) {
        _ = try model.generate(prompts: [prompts[0]], options: greedy) { _, _ in .feed([500]) }
    }
}
