import Foundation

/// The one way CDRA turns environment variables into settings. A variable that is unset, empty or
/// only white space counts as unset; a value that cannot be used throws a ``SettingError`` naming
/// the variable, never echoing more than a short prefix of the value.
///
/// Each setting is read in exactly one place: the service settings by `ServiceOptions`, the model
/// endpoint settings by `LLMEndpointConfiguration.fromEnvironment`, the few process-wide paths
/// where they are used. The others take resolved values, never the environment.
public struct EnvironmentReader: Sendable {
    /// The variables read. Default: the process environment.
    public let variables: [String: String]

    public init(_ variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.variables = variables
    }

    /// The trimmed value, or nil when the variable is unset or blank.
    public func string(_ name: String) -> String? {
        guard let raw = variables[name] else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The value exactly as set (secrets may carry white space), or nil when unset or empty.
    public func secret(_ name: String) -> String? {
        guard let raw = variables[name], !raw.isEmpty else { return nil }
        return raw
    }

    /// An integer in `range`, or nil when unset.
    public func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw SettingError(variable: name, "must be an integer in \(range.lowerBound)...\(range.upperBound), not '\(Self.excerpt(text))'")
        }
        return value
    }

    /// A number in `range`, or nil when unset.
    public func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw SettingError(variable: name, "must be a number in \(range.lowerBound)...\(range.upperBound), not '\(Self.excerpt(text))'")
        }
        return value
    }

    /// `1`/`true`/`yes` or `0`/`false`/`no` (any case), or nil when unset.
    public func boolean(_ name: String) throws -> Bool? {
        guard let text = string(name) else { return nil }
        switch text.lowercased() {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw SettingError(variable: name, "must be true or false, not '\(Self.excerpt(text))'")
        }
    }

    /// Every set variable whose name starts with `prefix`, keyed by the rest of the name.
    public func variables(withPrefix prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in variables where name.hasPrefix(prefix) && name.count > prefix.count {
            result[String(name.dropFirst(prefix.count))] = value
        }
        return result
    }

    /// At most 20 characters of a rejected value, enough to recognise a typo.
    static func excerpt(_ text: String) -> String { String(text.prefix(20)) }
}
