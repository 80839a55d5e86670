/// A text prepared for phrase matching: ASCII is lower-cased in place so byte offsets stay those of
/// the original, which lets every match be quoted back verbatim.
struct ScannedText {
    let original: [UInt8]
    let lower: [UInt8]

    init(_ text: String) {
        original = Array(text.utf8)
        lower = original.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
    }

    var isEmpty: Bool { original.isEmpty }

    /// Letters, digits and every non-ASCII byte count as word characters, so a match never starts or
    /// ends inside a word (or inside a multi-byte character).
    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b >= 0x80
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: original[range], as: UTF8.self)
    }

    /// Every match of `pattern` at word boundaries.
    func matches(of pattern: PhrasePattern) -> [Range<Int>] {
        let p = pattern.bytes
        guard !p.isEmpty, p.count <= lower.count else { return [] }
        var found: [Range<Int>] = []
        var i = 0
        let last = lower.count - p.count
        while i <= last {
            if lower[i] == p[0] && (i == 0 || !Self.isWordByte(lower[i - 1])) {
                var j = 1
                while j < p.count && lower[i + j] == p[j] { j += 1 }
                if j == p.count {
                    var end = i + p.count
                    if pattern.isPrefix {
                        while end < lower.count && Self.isWordByte(lower[end]) { end += 1 }
                        found.append(i..<end)
                        i = end
                        continue
                    } else if end == lower.count || !Self.isWordByte(lower[end]) {
                        found.append(i..<end)
                        i = end
                        continue
                    }
                }
            }
            i += 1
        }
        return found
    }

    func contains(_ pattern: PhrasePattern) -> Bool { !matches(of: pattern).isEmpty }

    /// The clause around `range`: out to the nearest `.,;:!?` or line break on each side, trimmed;
    /// a clause longer than `maxWords` is narrowed to a window of words around the match.
    func clause(around range: Range<Int>, maxWords: Int = 14) -> Range<Int> {
        func isDelimiter(_ b: UInt8) -> Bool {
            b == 46 || b == 44 || b == 59 || b == 58 || b == 33 || b == 63 || b == 10 || b == 13
        }
        var start = range.lowerBound
        while start > 0 && !isDelimiter(original[start - 1]) { start -= 1 }
        var end = range.upperBound
        while end < original.count && !isDelimiter(original[end]) { end += 1 }
        while start < range.lowerBound && original[start] == 32 { start += 1 }
        while end > range.upperBound && original[end - 1] == 32 { end -= 1 }
        let words = original[start..<end].split(separator: 32).count
        if words <= maxWords { return start..<end }
        // Window: up to 5 words before and after the match.
        var s = range.lowerBound, seen = 0
        while s > start && seen < 5 {
            s -= 1
            if original[s] == 32 && s > start && original[s - 1] != 32 { seen += 1 }
        }
        while s < range.lowerBound && original[s] == 32 { s += 1 }
        var e = range.upperBound
        seen = 0
        while e < end && seen < 6 {
            if original[e] == 32 { seen += 1; if seen == 6 { break } }
            e += 1
        }
        while e > range.upperBound && original[e - 1] == 32 { e -= 1 }
        return s..<e
    }
}

/// A lower-cased phrase; a trailing `*` in the source makes it match any word ending ("track*").
struct PhrasePattern: Hashable {
    let bytes: [UInt8]
    let isPrefix: Bool

    init(_ phrase: String) {
        var s = phrase.lowercased()
        isPrefix = s.hasSuffix("*")
        if isPrefix { s.removeLast() }
        bytes = Array(s.utf8)
    }
}
