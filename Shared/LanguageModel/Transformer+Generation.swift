import Foundation

extension Transformer {
    /// Samples continuations of several prompts at once with a KV cache.
    ///
    /// Prompts may have different lengths; all are prefilled in one pass, then every unfinished
    /// sequence advances one token per step. A sequence ends at a stop token, after
    /// `maxNewTokens`, or when it fills the context.
    public func generate(prompts: [[Int32]], options: SamplingOptions) throws -> [GeneratedSequence] {
        try generate(prompts: prompts, options: options, guide: nil)
    }

    /// Samples continuations like ``generate(prompts:options:)``, with a guide that sees every
    /// sampled token and may feed fixed tokens after it (not sampled, but in the KV cache as if
    /// they had been, in one pass for all sequences) or end the sequence. Structured output uses
    /// it: the fixed parts of a format are fed, only the free parts are sampled.
    ///
    /// `GeneratedSequence.tokens` holds the sampled tokens only; `maxNewTokens` counts them. A
    /// sequence whose fed tokens would not fit the context ends with `.length`.
    public func generate(prompts: [[Int32]], options: SamplingOptions,
                         guide: ((_ sequence: Int, _ token: Int32) -> GuidedStep)?) throws -> [GeneratedSequence] {
        let V = config.vocabularySize, maxT = config.contextLength
        for prompt in prompts {
            guard !prompt.isEmpty, prompt.count <= maxT else {
                throw ModelError(.invalidShape, "prompt length \(prompt.count) must be in 1...\(maxT)")
            }
            for tok in prompt where tok < 0 || Int(tok) >= V {
                throw ModelError(.invalidToken, "prompt token \(tok) outside vocabulary of \(V)")
            }
        }
        let S = prompts.count
        if S == 0 { return [] }
        let ws = inferenceWorkspace(slots: S)
        var samplers = (0..<S).map { Sampler(options: options, stream: UInt64($0)) }
        var results = (0..<S).map { _ in GeneratedSequence(tokens: [], logProbs: [], finishReason: .length) }
        var lengths = prompts.map(\.count)   // tokens fed or to be fed so far

        // prefill: every prompt token is a row; logits wanted at each prompt's last token
        var slots: [Int] = [], positions: [Int] = [], tokens: [Int32] = [], outputs: [Int] = []
        for (s, prompt) in prompts.enumerated() {
            for (t, tok) in prompt.enumerated() {
                slots.append(s); positions.append(t); tokens.append(tok)
            }
            outputs.append(tokens.count - 1)
        }
        var active = Array(0..<S)
        var logits = decodeRows(ws, slots: slots, positions: positions, tokens: tokens, outputRows: outputs)
        while !active.isEmpty {
            var next: [Int] = [], nextTokens: [Int32] = [], nextPositions: [Int] = [], nextSlots: [Int] = []
            var nextOutputs: [Int] = []
            for (i, s) in active.enumerated() {
                let (tok, lp) = samplers[s].sample(logits + i * V, count: V)
                results[s].tokens.append(tok)
                results[s].logProbs.append(lp)
                if options.stopTokens.contains(tok) {
                    results[s].finishReason = .stop
                    continue
                }
                var feed = [tok]
                switch guide?(s, tok) ?? .proceed {
                case .proceed: break
                case let .feed(fixed): feed += fixed
                case .finish:
                    results[s].finishReason = .stop
                    continue
                }
                if results[s].tokens.count >= options.maxNewTokens || lengths[s] + feed.count > maxT {
                    results[s].finishReason = .length
                    continue
                }
                for t in feed where t < 0 || Int(t) >= V {
                    throw ModelError(.invalidToken, "guided token \(t) outside vocabulary of \(V)")
                }
                next.append(s)
                for t in feed {
                    nextSlots.append(s)
                    nextTokens.append(t)
                    nextPositions.append(lengths[s])
                    lengths[s] += 1
                }
                nextOutputs.append(nextTokens.count - 1)
            }
            active = next
            if active.isEmpty { break }
            logits = decodeRows(ws, slots: nextSlots, positions: nextPositions, tokens: nextTokens, outputRows: nextOutputs)
        }
        return results
    }

    /// Teacher-forced log-probabilities: for each sequence, `result[i][t]` is
    /// log p(sequence[t+1] | sequence[0...t]) (so it has `count - 1` entries).
    ///
    /// Runs the training forward pass (it replaces the state of the last `forward`). Sequences
    /// are processed `batchSize` at a time, padded to the longest in each group.
    public func sequenceLogProbs(_ sequences: [[Int32]], batchSize: Int = 8) throws -> [[Float]] {
        var result: [[Float]] = []
        var start = 0
        while start < sequences.count {
            let group = Array(sequences[start..<min(sequences.count, start + batchSize)])
            for seq in group where seq.count > config.contextLength + 1 {
                throw ModelError(.invalidShape, "sequence of \(seq.count) tokens exceeds context \(config.contextLength) + 1")
            }
            let batch = TokenBatch(sequences: group)
            try forward(batch)
            let lp = tokenLogProbs
            for (b, seq) in group.enumerated() {
                let n = max(0, seq.count - 1)
                result.append(Array(lp[(b * batch.sequenceLength)..<(b * batch.sequenceLength + n)]))
            }
            start += batchSize
        }
        return result
    }
}
