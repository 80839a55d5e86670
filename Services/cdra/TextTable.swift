/// Renders rows as an aligned plain-text table; the first row is the header.
enum TextTable {
    static func render(_ rows: [[String]], maxCellWidth: Int = 60) -> String {
        guard let header = rows.first else { return "" }
        let cells = rows.map { row in
            row.map { cell -> String in
                let flat = cell.replacingOccurrences(of: "\n", with: " ")
                return flat.count > maxCellWidth ? String(flat.prefix(maxCellWidth - 1)) + "…" : flat
            }
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in cells { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        var out = [line(cells[0]), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += cells.dropFirst().map(line)
        out.append("(\(rows.count - 1) rows)")
        return out.joined(separator: "\n")
    }
}
