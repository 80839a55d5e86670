import Foundation

/// A one-line progress display on stderr: count, percentage, rate and ETA.
final class ProgressLine: @unchecked Sendable {
    private let label: String
    private let total: Int
    private let start = Date()
    private var done = 0
    private var lastDraw = Date.distantPast
    private var finished = false
    private let isTerminal = isatty(STDERR_FILENO) == 1

    init(label: String, total: Int) {
        self.label = label
        self.total = total
    }

    func advance(by n: Int) { update(to: done + n) }

    func update(to value: Int) {
        done = value
        let now = Date()
        // Redraw at most 4 times a second on a terminal, every 5 s in logs.
        if done >= total { finish(); return }
        guard now.timeIntervalSince(lastDraw) >= (isTerminal ? 0.25 : 5) else { return }
        lastDraw = now
        draw(final: false)
    }

    func finish() {
        guard !finished else { return }
        finished = true
        draw(final: true)
    }

    private func draw(final: Bool) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let percent = total > 0 ? 100 * Double(done) / Double(total) : 100
        let text = String(format: "%@: %d/%d (%.0f%%) %.0f/s eta %.0fs", label, done, total, percent, rate, max(0, eta))
        let line = isTerminal ? "\r\u{1B}[K" + text + (final ? "\n" : "") : text + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
