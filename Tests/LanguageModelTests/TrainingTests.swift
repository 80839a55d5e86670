import Foundation
import Testing
import LanguageModel

@Test func trainingFromScratchBeatsTheUnigramEntropy() throws {
    let text = try String(contentsOf: corpusURL, encoding: .utf8)
    let tokenizer = try Tokenizer.train(corpus: text, vocabularySize: 512)
    let tokens = tokenizer.encode(text)
    let split = tokens.count * 9 / 10
    let train = TokenDataset(tokens: Array(tokens[..<split]))
    let validation = TokenDataset(tokens: Array(tokens[split...]))
    let config = TransformerConfig(vocabularySize: 512, contextLength: 64, layerCount: 2, headCount: 2, channelCount: 64)
    let model = try Transformer(config: config, seed: 1)
    let optimizer = model.makeOptimizer()
    let steps = 150
    let schedule = LearningRateSchedule(maxRate: 3e-3, minRate: 3e-4, warmupSteps: 15, totalSteps: steps)
    var rng = SeededGenerator(seed: 9)
    let unigram = validation.unigramEntropy()
    let before = try validation.meanLoss(model: model, batchSize: 16, sequenceLength: 64)
    for step in 0..<steps {
        try model.forward(train.randomBatch(batchSize: 8, sequenceLength: 64, rng: &rng))
        model.zeroGradients()
        model.backward()
        model.update(optimizer: optimizer, learningRate: schedule.rate(at: step))
    }
    let after = try validation.meanLoss(model: model, batchSize: 16, sequenceLength: 64)
    print("training: validation loss \(before) -> \(after) nats/token after \(steps) steps; unigram entropy \(unigram) nats/token")
    #expect(Double(after) < 0.5 * unigram)
}
