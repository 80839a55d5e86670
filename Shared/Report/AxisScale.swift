import Foundation

/// A linear axis with "nice" ticks (1, 2 or 5 × 10^k apart) covering the data.
struct AxisScale {
    let lower: Double
    let upper: Double
    let ticks: [Double]
    /// Decimals that print every tick exactly.
    let decimals: Int

    /// Covers `minimum ... maximum` with about `tickCount` ticks; `integers` keeps the tick spacing
    /// at least 1 (training steps). A flat range is widened so the line sits mid-chart.
    init(minimum: Double, maximum: Double, tickCount: Int = 5, integers: Bool = false) {
        var lo = minimum.isFinite ? minimum : 0, hi = maximum.isFinite ? maximum : 1
        if lo > hi { swap(&lo, &hi) }
        if hi - lo < 1e-12 {
            let pad = integers ? 1 : max(abs(lo) * 0.1, 0.5)
            lo -= pad
            hi += pad
        }
        var step = Self.niceStep((hi - lo) / Double(max(1, tickCount - 1)))
        if integers { step = max(1, step.rounded()) }
        let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
        lower = first * step
        upper = last * step
        // Ticks from integer multiples of the step, so 0.1 + 0.2 never prints as 0.30000000000000004.
        ticks = stride(from: first, through: last, by: 1).map { $0 * step }
        decimals = integers ? 0 : max(0, Int(-log10(step).rounded(.down)))
    }

    /// 1, 2 or 5 × 10^k, the smallest not below `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let magnitude = pow(10, log10(rough).rounded(.down))
        let fraction = rough / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// Where `value` falls on an axis drawn from `start` (at `lower`) to `end` (at `upper`).
    func position(_ value: Double, from start: Double, to end: Double) -> Double {
        start + (value - lower) / (upper - lower) * (end - start)
    }

    func label(_ value: Double) -> String { ReportNumber.fixed(value, decimals: decimals) }
}

/// Coordinates in SVG attributes: two decimals are finer than a pixel.
func svgNumber(_ value: Double) -> String {
    ReportNumber.fixed(value, decimals: 2)
}

/// A chart's `<svg>` start tag, its accessible title and its visible title, shared by the charts.
func chartOpening(kind: String, width: Double, height: Double, identifier: String, title: String, titleX: Double) -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart \(kind)\" viewBox=\"0 0 \(svgNumber(width)) \(svgNumber(height))\""
        + " width=\"\(svgNumber(width))\" height=\"\(svgNumber(height))\" role=\"img\""
        + HTML.attribute("data-chart", identifier) + HTML.attribute("aria-label", title) + ">"
        + "<title>\(HTML.escape(title))</title>"
        + "<text class=\"chart-title\" x=\"\(svgNumber(titleX))\" y=\"18\">\(HTML.escape(title))</text>"
}
