import Foundation

/// How secrets are hidden in anything CDRA writes: logs, events, errors, `/metrics`, CLI output.
/// The one redaction marker of the code base.
public enum Redaction {
    /// What replaces a secret.
    public static let marker = "***"

    /// Whether a configuration key names a secret (librdkafka properties, header names, variables).
    public static func isSecretName(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "secret", "key", "token", "jaas", "credential", "authorization"]
            .contains { lowered.contains($0) }
    }

    /// `text` with every occurrence of each non-empty secret replaced by the marker. Longer secrets
    /// are replaced first, so one secret that contains another is still hidden whole.
    public static func scrub(_ text: String, secrets: [String?]) -> String {
        var result = text
        for secret in secrets.compactMap({ $0 }).filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: marker)
        }
        return result
    }
}
