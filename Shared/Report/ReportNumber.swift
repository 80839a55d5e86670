import Foundation

/// How the report prints numbers: a fixed number of decimals for people, the exact value for machines.
public enum ReportNumber {
    /// `value` with `decimals` decimals (`0.833`); never `-0.000`; `NaN`, `∞` and `-∞` for the
    /// values that are not finite.
    public static func fixed(_ value: Double, decimals: Int = 3) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-∞" : "∞" }
        let text = String(format: "%.\(max(0, decimals))f", value)
        // A small negative value rounds to "-0.000": the sign says nothing that the digits keep.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            return String(text.dropFirst())
        }
        return text
    }

    /// The shortest text that reads back as the same `Double` (`0.8333333333333334`), for the
    /// page's machine-readable attributes.
    public static func exact(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return "\(value)"
    }

    /// The dash shown where there is no value.
    public static let missing = "–"
}
