import Foundation

/// Reads typed fields out of a parsed JSON object and collects every problem (with its field
/// path) instead of stopping at the first, so a re-ask can list them all. Harmless type slips
/// are repaired on the way: numbers sent as strings ("0.7"), booleans sent as "true"/"false",
/// integer ids where strings are expected. Used by every reader of model replies and published
/// records in this package.
package final class JSONFieldCheck {
    package private(set) var problems: [String] = []

    package init() {}

    package func problem(_ text: String) { problems.append(text) }

    package func string(_ object: [String: Any], _ key: String, at path: String, allowEmpty: Bool = false) -> String? {
        guard let raw = object[key], !(raw is NSNull) else {
            problem("\(path).\(key) is missing (a string is required)")
            return nil
        }
        guard let text = raw as? String else {
            problem("\(path).\(key) must be a string")
            return nil
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !allowEmpty && trimmed.isEmpty {
            problem("\(path).\(key) must not be empty")
            return nil
        }
        return trimmed
    }

    /// nil for a missing or null field, without a problem.
    package func optionalString(_ object: [String: Any], _ key: String, at path: String) -> String? {
        guard let raw = object[key], !(raw is NSNull) else { return nil }
        if let text = raw as? String {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : trimmed
        }
        problem("\(path).\(key) must be a string or null")
        return nil
    }

    package func number(_ object: [String: Any], _ key: String, at path: String, in range: ClosedRange<Double>) -> Double? {
        guard let raw = object[key], !(raw is NSNull) else {
            problem("\(path).\(key) is missing (a number in \(range.lowerBound)...\(range.upperBound) is required)")
            return nil
        }
        guard let value = Self.numberValue(raw) else {
            problem("\(path).\(key) must be a number")
            return nil
        }
        guard value.isFinite, range.contains(value) else {
            problem("\(path).\(key) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    package func bool(_ object: [String: Any], _ key: String, at path: String) -> Bool? {
        guard let raw = object[key], !(raw is NSNull) else {
            problem("\(path).\(key) is missing (true or false is required)")
            return nil
        }
        if let value = Self.boolValue(raw) { return value }
        problem("\(path).\(key) must be true or false")
        return nil
    }

    package func array(_ object: [String: Any], _ key: String, at path: String, count: ClosedRange<Int>) -> [Any]? {
        guard let raw = object[key], !(raw is NSNull) else {
            problem("\(path).\(key) is missing (a list of \(count.lowerBound) to \(count.upperBound) items is required)")
            return nil
        }
        guard let items = raw as? [Any] else {
            problem("\(path).\(key) must be a list")
            return nil
        }
        guard count.contains(items.count) else {
            problem("\(path).\(key) has \(items.count) items; it must have \(count.lowerBound) to \(count.upperBound)")
            return nil
        }
        return items
    }

    package func strings(_ object: [String: Any], _ key: String, at path: String, required: Bool) -> [String]? {
        guard let raw = object[key], !(raw is NSNull) else {
            if required { problem("\(path).\(key) is missing (a list of strings is required)") }
            return required ? nil : []
        }
        guard let items = raw as? [Any] else {
            problem("\(path).\(key) must be a list of strings")
            return nil
        }
        var result: [String] = []
        for (i, item) in items.enumerated() {
            guard let text = item as? String else {
                problem("\(path).\(key)[\(i)] must be a string")
                return nil
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { result.append(trimmed) }
        }
        return result
    }

    /// An id given as a string or an integer, as a string.
    package static func identifier(_ raw: Any?) -> String? {
        guard let raw, !(raw is NSNull) else { return nil }
        if let text = raw as? String {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
        if isBoolean(raw) { return nil }
        if let number = raw as? NSNumber {
            let value = number.doubleValue
            if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        }
        return nil
    }

    // MARK: - JSONSerialization value kinds

    /// JSONSerialization hands out booleans as NSNumber; they must not pass for numbers (or the
    /// reverse), so the kind is decided from the number's storage type.
    static func isBoolean(_ raw: Any) -> Bool {
        if raw is Bool, let number = raw as? NSNumber {
            return String(cString: number.objCType) == "c" || String(cString: number.objCType) == "B"
        }
        return false
    }

    static func numberValue(_ raw: Any) -> Double? {
        if isBoolean(raw) { return nil }
        if let number = raw as? NSNumber { return number.doubleValue }
        if let text = raw as? String { return Double(text.trimmingCharacters(in: .whitespaces)) }
        return nil
    }

    package static func boolValue(_ raw: Any) -> Bool? {
        if isBoolean(raw), let number = raw as? NSNumber { return number.boolValue }
        if let text = raw as? String {
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes": return true
            case "false", "no": return false
            default: return nil
            }
        }
        return nil
    }
}
