/// A line chart as inline SVG: axes with ticks and labels, one polyline per series, a legend.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var label: String
        public var color: String
        public var dashed: Bool
        /// Thin, translucent and left out of the legend: a single seed drawn behind the mean.
        public var faint: Bool
        /// `(x, y)` in x order; points that are not finite are left out.
        public var points: [(x: Double, y: Double)]

        public init(label: String, color: String, dashed: Bool = false, faint: Bool = false, points: [(x: Double, y: Double)]) {
            self.label = label
            self.color = color
            self.dashed = dashed
            self.faint = faint
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Extra attributes' value on the `<svg>`: which chart this is (`data-chart`).
    public var identifier: String

    public init(title: String, xLabel: String, yLabel: String, identifier: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.identifier = identifier
        self.series = series
    }

    // Layout, in SVG units.
    static let width = 860.0, height = 300.0
    static let left = 64.0, right = 210.0, top = 28.0, bottom = 44.0

    public func svg() -> String {
        let drawn = series.map { s in LineChart.Series(label: s.label, color: s.color, dashed: s.dashed, faint: s.faint,
                                                       points: s.points.filter { $0.x.isFinite && $0.y.isFinite }) }
        let all = drawn.flatMap(\.points)
        let plotLeft = Self.left, plotRight = Self.width - Self.right, plotTop = Self.top, plotBottom = Self.height - Self.bottom
        var out = chartOpening(kind: "line-chart", width: Self.width, height: Self.height, identifier: identifier, title: title,
                               titleX: plotLeft)
        guard !all.isEmpty else {
            out += "<text class=\"empty\" x=\"\(svgNumber((plotLeft + plotRight) / 2))\" y=\"\(svgNumber((plotTop + plotBottom) / 2))\" text-anchor=\"middle\">no values recorded</text></svg>"
            return out
        }
        let xs = AxisScale(minimum: all.map(\.x).min()!, maximum: all.map(\.x).max()!, tickCount: 8, integers: true)
        let ys = AxisScale(minimum: all.map(\.y).min()!, maximum: all.map(\.y).max()!, tickCount: 5)
        func px(_ x: Double) -> Double { xs.position(x, from: plotLeft, to: plotRight) }
        func py(_ y: Double) -> Double { ys.position(y, from: plotBottom, to: plotTop) }

        // Grid, ticks and tick labels.
        out += "<g class=\"axis y-axis\">"
        for t in ys.ticks {
            let y = svgNumber(py(t))
            out += "<line class=\"grid\" x1=\"\(svgNumber(plotLeft))\" x2=\"\(svgNumber(plotRight))\" y1=\"\(y)\" y2=\"\(y)\"/>"
            out += "<line class=\"tick\" x1=\"\(svgNumber(plotLeft - 5))\" x2=\"\(svgNumber(plotLeft))\" y1=\"\(y)\" y2=\"\(y)\"/>"
            out += "<text x=\"\(svgNumber(plotLeft - 8))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(ys.label(t))</text>"
        }
        out += "<line class=\"axis-line\" x1=\"\(svgNumber(plotLeft))\" x2=\"\(svgNumber(plotLeft))\" y1=\"\(svgNumber(plotTop))\" y2=\"\(svgNumber(plotBottom))\"/>"
        out += "<text class=\"axis-label\" transform=\"translate(14 \(svgNumber((plotTop + plotBottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>"
        out += "</g><g class=\"axis x-axis\">"
        for t in xs.ticks {
            let x = svgNumber(px(t))
            out += "<line class=\"tick\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(svgNumber(plotBottom))\" y2=\"\(svgNumber(plotBottom + 5))\"/>"
            out += "<text x=\"\(x)\" y=\"\(svgNumber(plotBottom + 18))\" text-anchor=\"middle\">\(xs.label(t))</text>"
        }
        out += "<line class=\"axis-line\" x1=\"\(svgNumber(plotLeft))\" x2=\"\(svgNumber(plotRight))\" y1=\"\(svgNumber(plotBottom))\" y2=\"\(svgNumber(plotBottom))\"/>"
        out += "<text class=\"axis-label\" x=\"\(svgNumber((plotLeft + plotRight) / 2))\" y=\"\(svgNumber(Self.height - 6))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        out += "</g>"

        // The faint lines first, so the means are drawn over them.
        out += "<g class=\"series-set\">"
        for s in drawn.filter(\.faint) + drawn.filter({ !$0.faint }) where !s.points.isEmpty {
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            let width = s.faint ? "1" : "2.25", opacity = s.faint ? " stroke-opacity=\"0.35\"" : ""
            out += "<g class=\"series\(s.faint ? " faint" : "")\"" + HTML.attribute("data-series", s.label) + ">"
            out += "<title>\(HTML.escape(s.label))</title>"
            if s.points.count == 1 {
                out += "<circle cx=\"\(svgNumber(px(s.points[0].x)))\" cy=\"\(svgNumber(py(s.points[0].y)))\" r=\"3\" fill=\"\(HTML.escape(s.color))\"/>"
            } else {
                let points = s.points.map { "\(svgNumber(px($0.x))),\(svgNumber(py($0.y)))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(HTML.escape(s.color))\" stroke-width=\"\(width)\"\(opacity)\(dash) points=\"\(points)\"/>"
            }
            out += "</g>"
        }
        out += "</g>"

        // Legend: one entry per series that is not faint.
        out += "<g class=\"legend\">"
        let legendX = plotRight + 18
        for (i, s) in drawn.filter({ !$0.faint }).enumerated() {
            let y = plotTop + 8 + Double(i) * 20
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<line x1=\"\(svgNumber(legendX))\" x2=\"\(svgNumber(legendX + 26))\" y1=\"\(svgNumber(y))\" y2=\"\(svgNumber(y))\" stroke=\"\(HTML.escape(s.color))\" stroke-width=\"2.25\"\(dash)/>"
            out += "<text x=\"\(svgNumber(legendX + 32))\" y=\"\(svgNumber(y))\" dominant-baseline=\"middle\">\(HTML.escape(s.label))</text>"
        }
        out += "</g></svg>"
        return out
    }
}
