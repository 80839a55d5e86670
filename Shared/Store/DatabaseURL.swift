import Foundation
import Settings

/// A libpq connection string, in either of the two forms libpq accepts: a URI
/// (`postgresql://user:password@host:port/db?param=value`) or a key=value conninfo
/// (`host=... dbname=... sslmode=...`). Only what configuration needs: set a parameter, fill in a
/// password, redact it. Hand-parsed rather than with URLComponents because libpq URIs may list
/// several hosts (`host1:5432,host2:5432`), which URLComponents rejects.
public struct DatabaseURL: Equatable, Sendable {
    public enum Form: Equatable, Sendable { case uri(scheme: String), conninfo }

    public private(set) var form: Form
    // URI parts; the query values are kept percent-encoded as given.
    private var userinfo: String?
    private var hostAndPath = ""
    // URI query parameters or conninfo pairs, in order; conninfo values are unquoted.
    private var parameters: [(key: String, value: String)] = []

    public static func == (lhs: DatabaseURL, rhs: DatabaseURL) -> Bool { lhs.rendered() == rhs.rendered() }

    public init?(_ string: String) {
        let trimmed = string.trimmingCharacters(in: .whitespaces)
        for scheme in ["postgresql://", "postgres://"] where trimmed.hasPrefix(scheme) {
            form = .uri(scheme: scheme)
            var rest = Substring(trimmed.dropFirst(scheme.count))
            if let q = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: q)...].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    parameters.append((String(kv[0]), kv.count > 1 ? String(kv[1]) : ""))
                }
                rest = rest[..<q]
            }
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                userinfo = String(rest[..<at])
                rest = rest[rest.index(after: at)...]
            }
            hostAndPath = String(rest)
            return
        }
        guard let pairs = Self.parseConninfo(trimmed) else { return nil }
        form = .conninfo
        parameters = pairs
    }

    /// Whether a password is present (in the userinfo or as a `password` parameter).
    public var hasPassword: Bool {
        if let userinfo, userinfo.contains(":") { return true }
        return parameters.contains { $0.key == "password" }
    }

    public mutating func setParameter(_ key: String, _ value: String) {
        let stored = form == .conninfo ? value : Self.percentEncode(value)
        if let i = parameters.firstIndex(where: { $0.key == key }) {
            parameters[i].value = stored
        } else {
            parameters.append((key, stored))
        }
    }

    /// Sets the password: in the userinfo when the URI names a user, else as a parameter.
    public mutating func setPassword(_ password: String) {
        if case .uri = form, let userinfo, !userinfo.isEmpty {
            let user = userinfo.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            self.userinfo = user + ":" + Self.percentEncode(password)
        } else {
            setParameter("password", password)
        }
    }

    /// Replaces the password (in the userinfo or a `password` parameter) with the redaction marker.
    public mutating func redactPassword(with marker: String = Redaction.marker) {
        if let userinfo, let colon = userinfo.firstIndex(of: ":") {
            self.userinfo = userinfo[..<colon] + ":" + marker
        }
        for i in parameters.indices where parameters[i].key == "password" {
            parameters[i].value = marker
        }
    }

    public func rendered() -> String {
        switch form {
        case .uri(let scheme):
            var s = scheme
            if let userinfo { s += userinfo + "@" }
            s += hostAndPath
            if !parameters.isEmpty {
                s += "?" + parameters.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            }
            return s
        case .conninfo:
            return parameters.map { "\($0.key)=\(Self.quoteConninfo($0.value))" }.joined(separator: " ")
        }
    }

    // MARK: - Encoding helpers

    /// Percent-encodes everything but RFC 3986 unreserved characters, which is safe in both the
    /// userinfo and a query value.
    static func percentEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// Quotes a conninfo value when it is empty or holds spaces, quotes or backslashes.
    static func quoteConninfo(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "'" || $0 == "\\" }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return "'" + escaped + "'"
    }

    /// Parses `key=value key='quoted \' value'`; nil when it is not that shape.
    static func parseConninfo(_ s: String) -> [(key: String, value: String)]? {
        var pairs: [(key: String, value: String)] = []
        let chars = Array(s)
        var i = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        skipSpaces()
        while i < chars.count {
            var key = ""
            while i < chars.count, chars[i] != "=", chars[i] != " " { key.append(chars[i]); i += 1 }
            skipSpaces()
            guard !key.isEmpty, i < chars.count, chars[i] == "=" else { return nil }
            i += 1
            skipSpaces()
            var value = ""
            if i < chars.count, chars[i] == "'" {
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count { value.append(chars[i + 1]); i += 2; continue }
                    if chars[i] == "'" { closed = true; i += 1; break }
                    value.append(chars[i]); i += 1
                }
                guard closed else { return nil }
            } else {
                while i < chars.count, chars[i] != " " { value.append(chars[i]); i += 1 }
            }
            pairs.append((key, value))
            skipSpaces()
        }
        return pairs.isEmpty ? nil : pairs
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
