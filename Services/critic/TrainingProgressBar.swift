import Foundation
import RewardModel

/// The training progress bar on stdout: step, loss, tokens/s and ETA; redrawn in place on a
/// terminal at most 4 times a second, a plain line every 10 s otherwise.
final class TrainingProgressBar {
    private let label: String
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(label: String) { self.label = label }

    func update(_ p: PRMTrainer.Progress) {
        let now = Date()
        let last = p.step == p.totalSteps
        guard last || now.timeIntervalSince(lastDraw) >= (isTerminal ? 0.25 : 10) else { return }
        lastDraw = now
        let width = 24, filled = p.totalSteps == 0 ? width : width * p.step / p.totalSteps
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = String(format: "%@: epoch %d step %d/%d [%@] loss %.4f | %.0f tok/s | ETA %@", label, p.epoch, p.step,
                          p.totalSteps, bar, p.loss, p.tokensPerSecond, Self.duration(p.etaSeconds))
        if isTerminal {
            print("\r" + line + "   ", terminator: "")
            fflush(stdout)
            drawn = true
        } else {
            print(line)
        }
    }

    /// Ends the in-place line before other output.
    func interrupt() {
        if drawn { print("") }
        drawn = false
    }

    func finish() { interrupt() }

    static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "-" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
