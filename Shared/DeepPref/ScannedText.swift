/// A text prepared for phrase matching: ASCII is lower-cased in place so byte offsets stay those of
/// the original, which lets every match be quoted back verbatim. Shared with the built-in council
/// and judge.
package struct ScannedText {
    package let original: [UInt8]
    let lower: [UInt8]
    /// Positions where a match may start (start of text or after a non-word byte), grouped by their
    /// lower-cased byte: `starts[bucketStart[b]..<bucketStart[b + 1]]`. Patterns are tried only
    /// there, which keeps a full-lexicon scan cheap even in debug builds.
    private let starts: [Int]
    private let bucketStart: [Int]

    package init(_ text: String) {
        original = Array(text.utf8)
        let lower = original.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
        self.lower = lower
        var counts = [Int](repeating: 0, count: 257)
        for i in lower.indices where i == 0 || !Self.isWordByte(lower[i - 1]) { counts[Int(lower[i]) + 1] += 1 }
        for b in 0..<256 { counts[b + 1] += counts[b] }
        var fill = counts
        var starts = [Int](repeating: 0, count: counts[256])
        for i in lower.indices where i == 0 || !Self.isWordByte(lower[i - 1]) {
            starts[fill[Int(lower[i])]] = i
            fill[Int(lower[i])] += 1
        }
        self.starts = starts
        bucketStart = counts
    }

    var isEmpty: Bool { original.isEmpty }

    /// Letters, digits and every non-ASCII byte count as word characters, so a match never starts or
    /// ends inside a word (or inside a multi-byte character).
    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b >= 0x80
    }

    package func text(_ range: Range<Int>) -> String {
        String(decoding: original[range], as: UTF8.self)
    }

    /// Every match of `pattern` at word boundaries.
    package func matches(of pattern: PhrasePattern) -> [Range<Int>] {
        let p = pattern.bytes
        guard !p.isEmpty, p.count <= lower.count else { return [] }
        var found: [Range<Int>] = []
        let last = lower.count - p.count
        var nextFree = 0  // matches never overlap: a later start must be past the previous match
        for k in bucketStart[Int(p[0])]..<bucketStart[Int(p[0]) + 1] {
            let i = starts[k]
            if i > last { break }
            if i < nextFree { continue }
            var j = 1
            while j < p.count && lower[i + j] == p[j] { j += 1 }
            guard j == p.count else { continue }
            var end = i + p.count
            if pattern.isPrefix {
                while end < lower.count && Self.isWordByte(lower[end]) { end += 1 }
            } else if end < lower.count && Self.isWordByte(lower[end]) {
                continue
            }
            found.append(i..<end)
            nextFree = end
        }
        return found
    }

    package func contains(_ pattern: PhrasePattern) -> Bool { !matches(of: pattern).isEmpty }

    /// The clause around `range`: out to the nearest `.,;:!?` or line break on each side, trimmed;
    /// a clause longer than `maxWords` is narrowed to a window of words around the match.
    package func clause(around range: Range<Int>, maxWords: Int = 14) -> Range<Int> {
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
package struct PhrasePattern: Hashable {
    let bytes: [UInt8]
    let isPrefix: Bool

    package init(_ phrase: String) {
        var s = phrase.lowercased()
        isPrefix = s.hasSuffix("*")
        if isPrefix { s.removeLast() }
        bytes = Array(s.utf8)
    }
}
