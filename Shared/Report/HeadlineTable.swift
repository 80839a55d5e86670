import Foundation

/// The headline table of one split: a row per method and reward setting (SFT first), a column per
/// published measure, each cell the mean ± sample standard deviation over the seeds' final checkpoints.
public struct HeadlineTable: Sendable {
    /// One measure of the table.
    public struct Column: Sendable, Equatable {
        /// The `evaluations.metric` name.
        public let metric: String
        public let title: String
        /// Acc_Mis: a lower value is the better one.
        public let lowerIsBetter: Bool
    }

    public static let columns: [Column] = [
        Column(metric: "acc_pf", title: "Acc_PF", lowerIsBetter: false),
        Column(metric: "acc_da", title: "Acc_DA", lowerIsBetter: false),
        Column(metric: "acc_mis", title: "Acc_Mis ↓", lowerIsBetter: true),
        Column(metric: "m_dm", title: "m_dm", lowerIsBetter: false),
        Column(metric: "m_ie", title: "m_ie", lowerIsBetter: false),
        Column(metric: "hidden_pref_recall", title: "Hidden-pref. recall", lowerIsBetter: false),
        Column(metric: "prm_score", title: "PRM score", lowerIsBetter: false),
        Column(metric: "win_rate", title: "Win rate", lowerIsBetter: false),
        Column(metric: "format_valid", title: "Format valid", lowerIsBetter: false),
    ]

    public struct Row: Sendable {
        public let setting: MethodSetting
        /// One per column, in column order.
        public let cells: [SeedSummary]
    }

    public let split: String
    public let rows: [Row]

    /// The table of `split` from the newest evaluation run of each checkpoint (`evaluations` may
    /// hold other splits and checkpoints; they are ignored).
    public init(study: Study, evaluations: [EvaluationRecord], split: String) {
        self.split = split
        var byCheckpoint: [String: EvaluationRecord] = [:]
        for e in evaluations where e.split == split { byCheckpoint[e.checkpointID] = e }
        rows = study.settings.map { setting in
            let records = study.checkpointIDs(of: setting).compactMap { byCheckpoint[$0] }
            return Row(setting: setting, cells: Self.columns.map { column in
                SeedSummary(records.compactMap { $0.measures[column.metric] })
            })
        }
    }

    /// True when no cell has a value: the split has not been evaluated.
    public var isEmpty: Bool { rows.allSatisfy { $0.cells.allSatisfy { $0.n == 0 } } }

    /// Per column, the rows whose mean is the best of the column (ties all count); empty where fewer
    /// than two rows have a value or all means are equal, since then no row is better than another.
    public var bestRows: [Set<Int>] {
        Self.columns.indices.map { c in
            let means = rows.indices.compactMap { r in rows[r].cells[c].mean.map { (r, $0) } }.filter { $0.1.isFinite }
            guard means.count >= 2 else { return [] }
            let low = means.map(\.1).min()!, high = means.map(\.1).max()!
            guard low < high else { return [] }
            let best = Self.columns[c].lowerIsBetter ? low : high
            return Set(means.filter { $0.1 == best }.map(\.0))
        }
    }

    /// The table as GitHub-flavoured Markdown: `0.833 ± 0.012 (n=2)`, `0.833 (n=1)`, `–`.
    public func markdown() -> String {
        func cell(_ s: SeedSummary) -> String { s.n == 0 ? ReportNumber.missing : "\(s.text) (n=\(s.n))" }
        var lines = ["| method | reward | " + Self.columns.map { Self.markdownEscape($0.title) }.joined(separator: " | ") + " |",
                     "|---|---|" + String(repeating: "---:|", count: Self.columns.count)]
        for row in rows {
            lines.append("| \(Self.markdownEscape(row.setting.label)) | \(Self.markdownEscape(row.setting.reward ?? ReportNumber.missing)) | "
                         + row.cells.map(cell).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// A cell's text with the characters that would end the cell or the line made harmless.
    static func markdownEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}
