/// Horizontal grouped bars as inline SVG: a group per category (a topic), a bar per series (a
/// method), a value axis with ticks, a legend.
public struct GroupedBarChart: Sendable {
    public struct Series: Sendable {
        public var label: String
        public var color: String
        /// Lighter bars (the coarse reward setting).
        public var light: Bool

        public init(label: String, color: String, light: Bool = false) {
            self.label = label
            self.color = color
            self.light = light
        }
    }

    public struct Group: Sendable {
        public var label: String
        /// One per series, in series order; nil draws no bar ("no value").
        public var values: [Double?]

        public init(label: String, values: [Double?]) {
            self.label = label
            self.values = values
        }
    }

    public var title: String
    public var valueLabel: String
    public var identifier: String
    public var series: [Series]
    public var groups: [Group]

    public init(title: String, valueLabel: String, identifier: String, series: [Series], groups: [Group]) {
        self.title = title
        self.valueLabel = valueLabel
        self.identifier = identifier
        self.series = series
        self.groups = groups
    }

    static let width = 860.0, left = 180.0, right = 200.0, top = 30.0, bottom = 44.0
    static let barHeight = 7.0, groupGap = 10.0

    public func svg() -> String {
        let values = groups.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
        // Measures are fractions: the axis starts at 0 and reaches 1 unless a value goes past it.
        let scale = AxisScale(minimum: min(0, values.min() ?? 0), maximum: max(1, values.max() ?? 1), tickCount: 6)
        let groupHeight = Double(max(1, series.count)) * Self.barHeight + Self.groupGap
        let plotTop = Self.top, plotBottom = plotTop + Double(groups.count) * groupHeight
        let legendBottom = plotTop + Double(series.count) * 20 + 8
        let height = max(plotBottom, legendBottom) + Self.bottom
        let plotLeft = Self.left, plotRight = Self.width - Self.right
        func px(_ v: Double) -> Double { scale.position(v, from: plotLeft, to: plotRight) }

        var out = chartOpening(kind: "bar-chart", width: Self.width, height: height, identifier: identifier, title: title,
                               titleX: plotLeft)

        out += "<g class=\"axis x-axis\">"
        for t in scale.ticks {
            let x = svgNumber(px(t))
            out += "<line class=\"grid\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(svgNumber(plotTop))\" y2=\"\(svgNumber(plotBottom))\"/>"
            out += "<line class=\"tick\" x1=\"\(x)\" x2=\"\(x)\" y1=\"\(svgNumber(plotBottom))\" y2=\"\(svgNumber(plotBottom + 5))\"/>"
            out += "<text x=\"\(x)\" y=\"\(svgNumber(plotBottom + 18))\" text-anchor=\"middle\">\(scale.label(t))</text>"
        }
        out += "<line class=\"axis-line\" x1=\"\(svgNumber(plotLeft))\" x2=\"\(svgNumber(plotRight))\" y1=\"\(svgNumber(plotBottom))\" y2=\"\(svgNumber(plotBottom))\"/>"
        out += "<text class=\"axis-label\" x=\"\(svgNumber((plotLeft + plotRight) / 2))\" y=\"\(svgNumber(plotBottom + 36))\" text-anchor=\"middle\">\(HTML.escape(valueLabel))</text>"
        out += "</g>"

        out += "<g class=\"groups\">"
        for (g, group) in groups.enumerated() {
            let y0 = plotTop + Double(g) * groupHeight + Self.groupGap / 2
            let name = group.label.count > 26 ? String(group.label.prefix(25)) + "…" : group.label
            out += "<g class=\"group\"" + HTML.attribute("data-group", group.label) + ">"
            out += "<text class=\"group-label\" x=\"\(svgNumber(plotLeft - 8))\" y=\"\(svgNumber(y0 + Double(series.count) * Self.barHeight / 2))\""
                + " text-anchor=\"end\" dominant-baseline=\"middle\"><title>\(HTML.escape(group.label))</title>\(HTML.escape(name))</text>"
            for (i, s) in series.enumerated() {
                guard i < group.values.count, let v = group.values[i], v.isFinite else { continue }
                let a = px(min(v, 0)), b = px(max(v, 0))
                out += "<rect x=\"\(svgNumber(a))\" y=\"\(svgNumber(y0 + Double(i) * Self.barHeight))\" width=\"\(svgNumber(max(b - a, 0.5)))\""
                    + " height=\"\(svgNumber(Self.barHeight - 1))\" fill=\"\(HTML.escape(s.color))\"\(s.light ? " fill-opacity=\"0.45\"" : "")"
                    + HTML.attribute("data-series", s.label) + HTML.attribute("data-value", ReportNumber.exact(v)) + ">"
                    + "<title>\(HTML.escape("\(group.label), \(s.label): \(ReportNumber.fixed(v))"))</title></rect>"
            }
            out += "</g>"
        }
        out += "</g>"

        out += "<g class=\"legend\">"
        let legendX = plotRight + 18
        for (i, s) in series.enumerated() {
            let y = plotTop + 8 + Double(i) * 20
            out += "<rect x=\"\(svgNumber(legendX))\" y=\"\(svgNumber(y - 6))\" width=\"20\" height=\"12\" fill=\"\(HTML.escape(s.color))\"\(s.light ? " fill-opacity=\"0.45\"" : "")/>"
            out += "<text x=\"\(svgNumber(legendX + 26))\" y=\"\(svgNumber(y))\" dominant-baseline=\"middle\">\(HTML.escape(s.label))</text>"
        }
        out += "</g></svg>"
        return out
    }
}
