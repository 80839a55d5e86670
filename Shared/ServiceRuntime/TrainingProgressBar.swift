import Foundation

/// A training progress bar on stdout: step, the caller's figures and the ETA; redrawn in place on
/// a terminal at most 4 times a second, a plain line every 10 s otherwise (a log file).
public final class TrainingProgressBar {
    private let label: String
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private var lastDraw = Date.distantPast
    private var drawn = false

    public init(label: String) { self.label = label }

    /// Draws step `step` of `total` with `figures` (e.g. "loss 0.41 | 8800 tok/s").
    public func update(step: Int, total: Int, figures: String, etaSeconds: Double) {
        let now = Date()
        let last = step == total
        guard last || now.timeIntervalSince(lastDraw) >= (isTerminal ? 0.25 : 10) else { return }
        lastDraw = now
        let width = 24, filled = total <= 0 ? width : width * min(step, total) / total
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\(label): step \(step)/\(total) [\(bar)] \(figures) | ETA \(Self.duration(etaSeconds))"
        if isTerminal {
            print("\r" + line + "   ", terminator: "")
            fflush(stdout)
            drawn = true
        } else {
            print(line)
        }
    }

    /// Ends the in-place line before other output.
    public func interrupt() {
        if drawn { print("") }
        drawn = false
    }

    public func finish() { interrupt() }

    public static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "-" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
