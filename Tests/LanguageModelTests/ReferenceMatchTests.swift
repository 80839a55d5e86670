import Foundation
import Testing
import LanguageModel
import Tensor

// The model against the independent numpy reference (llm.c's test_gpt2 approach).

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Test func forwardAndBackwardMatchTheNumpyReference() throws {
    let fx = try ReferenceFixture.generate()
    let model = try Transformer(config: fx.config, parameters: fx.parameters)
    let batch = TokenBatch(batchSize: fx.B, sequenceLength: fx.T, inputs: fx.inputs, targets: fx.targets, weights: fx.weights)
    let loss = try model.forward(batch)
    model.zeroGradients()
    model.backward()

    let logitDiff = maxAbsDiff(model.logits, fx.logits)
    print("reference: logits max |diff| \(logitDiff) (tolerance 1e-4)")
    #expect(logitDiff < 1e-4)
    print("reference: loss swift \(loss) numpy \(fx.loss) |diff| \(abs(loss - fx.loss)) (tolerance 1e-4 relative)")
    #expect(abs(loss - fx.loss) <= 1e-4 * max(1, abs(fx.loss)))

    // every parameter tensor's gradient, relative to that tensor's largest reference gradient
    let grads = model.gradients.toArray()
    for entry in model.layout.entries {
        let ours = Array(grads[entry.range]), theirs = Array(fx.gradients[entry.range])
        let scale = theirs.reduce(Float(0)) { max($0, abs($1)) }
        let diff = maxAbsDiff(ours, theirs)
        print("reference: grad \(entry.name) max |diff| \(diff) (max |grad| \(scale))")
        #expect(diff <= 2e-4 * max(scale, 1e-3), "gradient of \(entry.name) differs by \(diff)")
    }
}

@Test func tenAdamWStepsReproduceTheReferenceLossCurve() throws {
    let fx = try ReferenceFixture.generate()
    let model = try Transformer(config: fx.config, parameters: fx.parameters)
    let optimizer = model.makeOptimizer(AdamWConfig(beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1))
    let schedule = LearningRateSchedule(maxRate: 1e-2, minRate: 1e-3, warmupSteps: 3, totalSteps: fx.trainLosses.count)
    let batch = TokenBatch(batchSize: fx.B, sequenceLength: fx.T, inputs: fx.inputs, targets: fx.targets, weights: fx.trainWeights)
    var worst: Float = 0
    for step in 0..<fx.trainLosses.count {
        let loss = try model.forward(batch)
        model.zeroGradients()
        model.backward()
        model.update(optimizer: optimizer, learningRate: schedule.rate(at: step), maxGradientNorm: 1)
        worst = max(worst, abs(loss - fx.trainLosses[step]))
        print("reference: step \(step) loss swift \(loss) numpy \(fx.trainLosses[step])")
    }
    print("reference: 10-step loss curve max |diff| \(worst) (tolerance 1e-3)")
    #expect(worst < 1e-3)
    #expect(fx.trainLosses.last! < fx.trainLosses.first! - 0.5)   // the curve really descends
}
