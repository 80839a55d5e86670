/// One measure over the seeds of a method: mean, sample standard deviation and count.
public struct SeedSummary: Sendable, Equatable {
    /// One value per seed (or per warm start, for SFT), in seed order.
    public let values: [Double]

    public init(_ values: [Double]) {
        self.values = values
    }

    /// Seeds with a value.
    public var n: Int { values.count }

    /// Nil without values.
    public var mean: Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// The sample standard deviation (divisor n − 1); nil for fewer than two values, where it
    /// is undefined (PostgreSQL's `stddev_samp` is NULL there too).
    public var standardDeviation: Double? {
        guard values.count >= 2, let mean else { return nil }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// `0.833 ± 0.012`, `0.833` for one value, `–` for none.
    public var text: String {
        guard let mean else { return ReportNumber.missing }
        guard let std = standardDeviation else { return ReportNumber.fixed(mean) }
        return "\(ReportNumber.fixed(mean)) ± \(ReportNumber.fixed(std))"
    }
}
