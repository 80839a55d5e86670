import RewardModel
import ServiceRuntime

extension TrainingProgressBar {
    func update(_ p: PRMTrainer.Progress) {
        update(step: p.step, total: p.totalSteps,
               figures: String(format: "epoch %d, loss %.4f | %.0f tok/s", p.epoch, p.loss, p.tokensPerSecond),
               etaSeconds: p.etaSeconds)
    }
}
