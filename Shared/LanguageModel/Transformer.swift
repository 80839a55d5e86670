import Foundation
import Tensor

/// A decoder-only transformer with explicit forward and backward passes (GPT-2 layout).
///
/// Parameters and their gradients each live in one flat `Tensor` cut into the views named by
/// `ParameterLayout`. Activations are allocated once per batch shape (B,T) and reused, so the
/// training loop allocates nothing. Not thread-safe: one model, one caller at a time.
///
/// Typical training step:
/// ```
/// let loss = try model.forward(batch)
/// model.zeroGradients(); model.backward()
/// model.update(optimizer: adam, learningRate: schedule.rate(at: step), maxGradientNorm: 1)
/// ```
public final class Transformer {
    /// The model's shape.
    public let config: TransformerConfig
    /// Where each named parameter lives in `parameters`.
    public let layout: ParameterLayout
    /// All parameters, flat, in `layout` order.
    public let parameters: Tensor
    /// Gradients, same layout as `parameters`. `backward()` adds into them.
    public let gradients: Tensor

    var acts: Activations?
    private var lastBatch: (inputs: [Int32], targets: [Int32], weights: [Float])?
    var inference: InferenceWorkspace?

    /// A model with GPT-2 initialisation: weights N(0, 0.02), residual projections scaled by
    /// 1/√(2L), biases zero, norm gains one. The same seed gives the same weights.
    public init(config: TransformerConfig, seed: UInt64 = 1337) throws {
        try config.validate()
        self.config = config
        self.layout = ParameterLayout(config)
        self.parameters = Tensor(shape: [layout.totalCount])
        self.gradients = Tensor(shape: [layout.totalCount])
        var rng = SeededGenerator(seed: seed)
        let residualScale = 1 / (2 * Double(config.layerCount)).squareRoot()
        for e in layout.entries {
            let p = parameters.data + e.offset
            switch e.name {
            case "ln1w", "ln2w", "lnfw":
                for i in 0..<e.count { p[i] = 1 }
            case "wte", "wpe", "qkvw", "fcw":
                for i in 0..<e.count { p[i] = Float(0.02 * rng.nextGaussian()) }
            case "attprojw", "fcprojw":
                for i in 0..<e.count { p[i] = Float(0.02 * residualScale * rng.nextGaussian()) }
            default:
                break  // biases stay zero
            }
        }
    }

    /// A model whose parameters are a copy of `values` (in `layout` order).
    public convenience init(config: TransformerConfig, parameters values: [Float]) throws {
        try self.init(config: config, seed: 0)
        guard values.count == layout.totalCount else {
            throw ModelError(.invalidShape, "\(values.count) parameters given, config needs \(layout.totalCount)")
        }
        values.withUnsafeBufferPointer { parameters.data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// An independent model with the same config and weights (e.g. the frozen reference policy
    /// for a KL penalty). Gradients, activations and caches are not copied.
    public func copy() -> Transformer {
        try! Transformer(config: config, parameters: parameters.toArray())
    }

    /// Pointer to the parameter called `name` (see `ParameterLayout`).
    public func parameter(_ name: String) -> UnsafeMutablePointer<Float> {
        parameters.data + layout[name]!.offset
    }

    /// Pointer to the gradient of the parameter called `name`.
    public func gradient(_ name: String) -> UnsafeMutablePointer<Float> {
        gradients.data + layout[name]!.offset
    }

    // MARK: - Forward

    /// Runs the model on `batch`; returns the weighted loss Σ w·(−log p(target)).
    ///
    /// After this call `logits`, `tokenLosses` and `tokenLogProbs` describe the batch, and
    /// `backward()` can run.
    @discardableResult
    public func forward(_ batch: TokenBatch) throws -> Float {
        let B = batch.batchSize, T = batch.sequenceLength
        let V = config.vocabularySize, C = config.channelCount, L = config.layerCount, NH = config.headCount
        guard B > 0, T > 0, T <= config.contextLength else {
            throw ModelError(.invalidShape, "batch (\(B), \(T)) does not fit context \(config.contextLength)")
        }
        guard batch.inputs.count == B * T, batch.targets.count == B * T,
              batch.weights.map({ $0.count == B * T }) ?? true else {
            throw ModelError(.invalidShape, "inputs/targets/weights must each have B*T = \(B * T) entries")
        }
        for tok in batch.inputs where tok < 0 || Int(tok) >= V {
            throw ModelError(.invalidToken, "input token \(tok) outside vocabulary of \(V)")
        }
        for tok in batch.targets where Int(tok) >= V {
            throw ModelError(.invalidToken, "target token \(tok) outside vocabulary of \(V)")
        }
        let weights: [Float]
        if let w = batch.weights {
            weights = w
        } else {
            let n = batch.targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
            let w = n > 0 ? 1 / Float(n) : 0
            weights = batch.targets.map { $0 >= 0 ? w : 0 }
        }
        let a = activations(B, T)
        let N = B * T
        let p = ParameterViews(self)

        batch.inputs.withUnsafeBufferPointer { inp in
            encoderForward(a.encoded.data, inp.baseAddress!, p.wte, p.wpe, B, T, C)
        }
        for l in 0..<L {
            let residual = l == 0 ? a.encoded.data : a.residual3.data + (l - 1) * N * C
            let ln1 = a.ln1.data + l * N * C, qkv = a.qkv.data + l * N * 3 * C
            let atty = a.atty.data + l * N * C, att = a.att.data + l * B * NH * T * T
            let attproj = a.attproj.data + l * N * C, residual2 = a.residual2.data + l * N * C
            let ln2 = a.ln2.data + l * N * C, fch = a.fch.data + l * N * 4 * C
            let fchGelu = a.fchGelu.data + l * N * 4 * C, fcproj = a.fcproj.data + l * N * C
            let residual3 = a.residual3.data + l * N * C

            layernormForward(ln1, a.ln1Mean.data + l * N, a.ln1Rstd.data + l * N, residual,
                             p.ln1w + l * C, p.ln1b + l * C, N, C)
            matmulForward(qkv, ln1, p.qkvw + l * 3 * C * C, p.qkvb + l * 3 * C, N, C, 3 * C)
            attentionForward(atty, att, qkv, B, T, C, NH)
            matmulForward(attproj, atty, p.attprojw + l * C * C, p.attprojb + l * C, N, C, C)
            residualForward(residual2, residual, attproj, N * C)
            layernormForward(ln2, a.ln2Mean.data + l * N, a.ln2Rstd.data + l * N, residual2,
                             p.ln2w + l * C, p.ln2b + l * C, N, C)
            matmulForward(fch, ln2, p.fcw + l * 4 * C * C, p.fcb + l * 4 * C, N, C, 4 * C)
            geluForward(fchGelu, fch, N * 4 * C)
            matmulForward(fcproj, fchGelu, p.fcprojw + l * C * 4 * C, p.fcprojb + l * C, N, 4 * C, C)
            residualForward(residual3, residual2, fcproj, N * C)
        }
        let last = a.residual3.data + (L - 1) * N * C
        layernormForward(a.lnf.data, a.lnfMean.data, a.lnfRstd.data, last, p.lnfw, p.lnfb, N, C)
        // LM head tied to the token embedding: logits = lnf · wteᵀ
        matmulForward(a.logits.data, a.lnf.data, p.wte, nil, N, C, V)
        batch.targets.withUnsafeBufferPointer { tg in
            crossEntropyForward(a.losses.data, a.probs.data, a.logits.data, tg.baseAddress!, N, V)
        }
        var loss: Float = 0
        for i in 0..<N { loss += weights[i] * a.losses[i] }
        lastBatch = (batch.inputs, batch.targets, weights)
        return loss
    }

    // MARK: - Backward

    /// Sets every gradient to zero.
    public func zeroGradients() { gradients.zero() }

    /// Adds the gradient of the last `forward`'s weighted loss into `gradients`.
    public func backward() {
        guard let a = acts, let batch = lastBatch else {
            preconditionFailure("backward() needs a forward() first")
        }
        let B = a.B, T = a.T, N = B * T
        let V = config.vocabularySize, C = config.channelCount, L = config.layerCount, NH = config.headCount
        let p = ParameterViews(self)
        let g = ParameterViews(gradientsOf: self)

        a.dlogits.zero()
        batch.targets.withUnsafeBufferPointer { tg in
            batch.weights.withUnsafeBufferPointer { w in
                crossEntropyBackward(a.dlogits.data, a.probs.data, tg.baseAddress!, w.baseAddress!, N, V)
            }
        }
        a.dln.zero()
        matmulBackward(a.dln.data, g.wte, nil, a.dlogits.data, a.lnf.data, p.wte, N, C, V)
        a.dresidual.zero()
        let last = a.residual3.data + (L - 1) * N * C
        layernormBackward(a.dresidual.data, g.lnfw, g.lnfb, a.dln.data, last, p.lnfw,
                          a.lnfMean.data, a.lnfRstd.data, N, C)
        let dres = a.dresidual.data
        for l in stride(from: L - 1, through: 0, by: -1) {
            let residual = l == 0 ? a.encoded.data : a.residual3.data + (l - 1) * N * C
            let ln1 = a.ln1.data + l * N * C, qkv = a.qkv.data + l * N * 3 * C
            let atty = a.atty.data + l * N * C, att = a.att.data + l * B * NH * T * T
            let residual2 = a.residual2.data + l * N * C
            let ln2 = a.ln2.data + l * N * C, fch = a.fch.data + l * N * 4 * C
            let fchGelu = a.fchGelu.data + l * N * 4 * C

            // forward was residual3 = residual2 + fcproj: dres flows to both unchanged
            a.dfchGelu.zero()
            matmulBackward(a.dfchGelu.data, g.fcprojw + l * C * 4 * C, g.fcprojb + l * C, dres,
                           fchGelu, p.fcprojw + l * C * 4 * C, N, 4 * C, C)
            a.dfch.zero()
            geluBackward(a.dfch.data, fch, a.dfchGelu.data, N * 4 * C)
            a.dln.zero()
            matmulBackward(a.dln.data, g.fcw + l * 4 * C * C, g.fcb + l * 4 * C, a.dfch.data,
                           ln2, p.fcw + l * 4 * C * C, N, C, 4 * C)
            layernormBackward(dres, g.ln2w + l * C, g.ln2b + l * C, a.dln.data, residual2, p.ln2w + l * C,
                              a.ln2Mean.data + l * N, a.ln2Rstd.data + l * N, N, C)
            // forward was residual2 = residual + attproj: again dres flows to both
            a.datty.zero()
            matmulBackward(a.datty.data, g.attprojw + l * C * C, g.attprojb + l * C, dres,
                           atty, p.attprojw + l * C * C, N, C, C)
            a.dqkv.zero()
            attentionBackward(a.dqkv.data, a.attScratch.data, a.datty.data, qkv, att, B, T, C, NH)
            a.dln.zero()
            matmulBackward(a.dln.data, g.qkvw + l * 3 * C * C, g.qkvb + l * 3 * C, a.dqkv.data,
                           ln1, p.qkvw + l * 3 * C * C, N, C, 3 * C)
            layernormBackward(dres, g.ln1w + l * C, g.ln1b + l * C, a.dln.data, residual, p.ln1w + l * C,
                              a.ln1Mean.data + l * N, a.ln1Rstd.data + l * N, N, C)
        }
        batch.inputs.withUnsafeBufferPointer { inp in
            encoderBackward(g.wte, g.wpe, dres, inp.baseAddress!, B, T, C)
        }
    }

    /// Adds the gradient of Σ w·(−log p(target)) over the last `forward`'s positions, with these
    /// weights instead of the batch's. A policy-gradient step uses it: the forward gives each
    /// token's log-probability ℓ, the loss's derivative ∂L/∂ℓ follows from it, and weights
    /// w = −∂L/∂ℓ make this the gradient of L.
    public func backward(weights: [Float]) {
        guard let batch = lastBatch else { preconditionFailure("backward(weights:) needs a forward() first") }
        precondition(weights.count == batch.weights.count, "one weight per position of the last forward")
        lastBatch = (batch.inputs, batch.targets, weights)
        backward()
    }

    // MARK: - Update

    /// Clips the gradient norm (when `maxGradientNorm > 0`), then applies one AdamW step with
    /// weight decay on the matrices only. Returns the gradient norm before clipping.
    @discardableResult
    public func update(optimizer: AdamW, learningRate: Float, maxGradientNorm: Float = 1) -> Float {
        let norm = clipGradients(gradients.data, gradients.count, maxNorm: maxGradientNorm)
        optimizer.update(params: parameters.data, grads: gradients.data, count: parameters.count,
                         learningRate: learningRate,
                         decayRanges: layout.entries.filter(\.decays).map(\.range))
        return norm
    }

    /// A fresh AdamW optimizer sized for this model.
    public func makeOptimizer(_ config: AdamWConfig = AdamWConfig()) -> AdamW {
        AdamW(parameterCount: parameters.count, config: config)
    }

    // MARK: - Results of the last forward

    /// Logits of the last forward, (B,T,V) row-major.
    public var logits: [Float] { acts.map { Array($0.logits.buffer.prefix($0.B * $0.T * config.vocabularySize)) } ?? [] }

    /// −log p(target) per position of the last forward, (B,T); 0 where there was no target.
    public var tokenLosses: [Float] { acts.map { Array($0.losses.buffer.prefix($0.B * $0.T)) } ?? [] }

    /// log p(target) per position of the last forward, (B,T); 0 where there was no target.
    public var tokenLogProbs: [Float] { tokenLosses.map { $0 == 0 ? 0 : -$0 } }

    /// Entropy of the predicted next-token distribution, −Σ p log p, per position of the last
    /// forward, (B,T); 0 where there was no target.
    public var tokenEntropies: [Float] {
        guard let a = acts, let batch = lastBatch else { return [] }
        let V = config.vocabularySize
        return (0..<(a.B * a.T)).map { i in
            guard batch.targets[i] >= 0 else { return 0 }
            let p = a.probs.data + i * V
            var h: Float = 0
            for j in 0..<V where p[j] > 0 { h -= p[j] * logf(p[j]) }
            return h
        }
    }

    // MARK: - Activations

    private func activations(_ B: Int, _ T: Int) -> Activations {
        if let a = acts, a.B == B, a.T == T { return a }
        let a = Activations(config, B, T)
        acts = a
        return a
    }

    /// Bytes held by activation buffers for the current batch shape.
    public var activationBytes: Int { acts?.byteCount ?? 0 }
}

/// Pointers to each parameter tensor (shapes in `ParameterLayout`).
struct ParameterViews {
    let wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb: UnsafeMutablePointer<Float>
    let ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb: UnsafeMutablePointer<Float>

    init(base: UnsafeMutablePointer<Float>, layout: ParameterLayout) {
        func v(_ n: String) -> UnsafeMutablePointer<Float> { base + layout[n]!.offset }
        wte = v("wte"); wpe = v("wpe"); ln1w = v("ln1w"); ln1b = v("ln1b")
        qkvw = v("qkvw"); qkvb = v("qkvb"); attprojw = v("attprojw"); attprojb = v("attprojb")
        ln2w = v("ln2w"); ln2b = v("ln2b"); fcw = v("fcw"); fcb = v("fcb")
        fcprojw = v("fcprojw"); fcprojb = v("fcprojb"); lnfw = v("lnfw"); lnfb = v("lnfb")
    }

    init(_ model: Transformer) { self.init(base: model.parameters.data, layout: model.layout) }
}


/// Forward activations and backward scratch for one batch shape (B,T).
final class Activations {
    let B: Int, T: Int
    let encoded: Tensor                 // (B,T,C)
    let ln1, ln1Mean, ln1Rstd: Tensor   // (L,B,T,C), (L,B,T), (L,B,T)
    let qkv: Tensor                     // (L,B,T,3C)
    let atty: Tensor                    // (L,B,T,C)
    let att: Tensor                     // (L,B,NH,T,T) post-softmax
    let attproj, residual2: Tensor      // (L,B,T,C)
    let ln2, ln2Mean, ln2Rstd: Tensor   // (L,B,T,C), (L,B,T), (L,B,T)
    let fch, fchGelu: Tensor            // (L,B,T,4C)
    let fcproj, residual3: Tensor       // (L,B,T,C)
    let lnf, lnfMean, lnfRstd: Tensor   // (B,T,C), (B,T), (B,T)
    let logits, probs: Tensor           // (B,T,V)
    let losses: Tensor                  // (B,T)
    // backward scratch, reused by every layer
    let dlogits: Tensor                 // (B,T,V)
    let dln, dresidual, datty: Tensor   // (B,T,C)
    let dqkv: Tensor                    // (B,T,3C)
    let dfch, dfchGelu: Tensor          // (B,T,4C)
    let attScratch: Tensor              // (B,NH,T,T)

    init(_ c: TransformerConfig, _ B: Int, _ T: Int) {
        self.B = B
        self.T = T
        let L = c.layerCount, C = c.channelCount, V = c.vocabularySize, NH = c.headCount
        encoded = Tensor(shape: [B, T, C])
        ln1 = Tensor(shape: [L, B, T, C]); ln1Mean = Tensor(shape: [L, B, T]); ln1Rstd = Tensor(shape: [L, B, T])
        qkv = Tensor(shape: [L, B, T, 3 * C])
        atty = Tensor(shape: [L, B, T, C])
        att = Tensor(shape: [L, B, NH, T, T])
        attproj = Tensor(shape: [L, B, T, C]); residual2 = Tensor(shape: [L, B, T, C])
        ln2 = Tensor(shape: [L, B, T, C]); ln2Mean = Tensor(shape: [L, B, T]); ln2Rstd = Tensor(shape: [L, B, T])
        fch = Tensor(shape: [L, B, T, 4 * C]); fchGelu = Tensor(shape: [L, B, T, 4 * C])
        fcproj = Tensor(shape: [L, B, T, C]); residual3 = Tensor(shape: [L, B, T, C])
        lnf = Tensor(shape: [B, T, C]); lnfMean = Tensor(shape: [B, T]); lnfRstd = Tensor(shape: [B, T])
        logits = Tensor(shape: [B, T, V]); probs = Tensor(shape: [B, T, V])
        losses = Tensor(shape: [B, T])
        dlogits = Tensor(shape: [B, T, V])
        dln = Tensor(shape: [B, T, C]); dresidual = Tensor(shape: [B, T, C]); datty = Tensor(shape: [B, T, C])
        dqkv = Tensor(shape: [B, T, 3 * C])
        dfch = Tensor(shape: [B, T, 4 * C]); dfchGelu = Tensor(shape: [B, T, 4 * C])
        attScratch = Tensor(shape: [B, NH, T, T])
    }

    var byteCount: Int {
        [encoded, ln1, ln1Mean, ln1Rstd, qkv, atty, att, attproj, residual2, ln2, ln2Mean, ln2Rstd, fch,
         fchGelu, fcproj, residual3, lnf, lnfMean, lnfRstd, logits, probs, losses, dlogits, dln, dresidual,
         datty, dqkv, dfch, dfchGelu, attScratch].reduce(0) { $0 + $1.count * 4 }
    }
}

extension ParameterViews {
    /// The same views into the gradient buffer.
    init(gradientsOf model: Transformer) { self.init(base: model.gradients.data, layout: model.layout) }
}
