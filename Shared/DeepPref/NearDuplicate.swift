/// The near-duplicate rule for query text (Docs/deeppref.md): two questions are near-duplicates when
/// the Jaccard similarity of their lower-cased alphanumeric token sets is ≥ ``threshold``. The builder
/// also never reuses a scenario skeleton (template + slot values), so no two queries are equal after
/// removing their cue and distractor sentences.
public enum NearDuplicate {
    public static let threshold = 0.8

    /// Sorted, distinct token hashes of `text` (FNV-1a over lower-cased ASCII letters and digits).
    public static func tokenSet(_ text: String) -> [UInt64] {
        var out: [UInt64] = []
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var inWord = false
        for var b in text.utf8 {
            if b >= 65 && b <= 90 { b += 32 }
            if (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b >= 0x80 {
                h = (h ^ UInt64(b)) &* 0x100_0000_01b3
                inWord = true
            } else if inWord {
                out.append(h)
                h = 0xcbf2_9ce4_8422_2325
                inWord = false
            }
        }
        if inWord { out.append(h) }
        out.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(out.count)
        for x in out where unique.last != x { unique.append(x) }
        return unique
    }

    /// |A ∩ B| / |A ∪ B| of two sorted distinct sets.
    public static func jaccard(_ a: [UInt64], _ b: [UInt64]) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        var i = 0, j = 0, common = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { common += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return Double(common) / Double(a.count + b.count - common)
    }

    public static func isNearDuplicate(_ a: String, _ b: String) -> Bool {
        jaccard(tokenSet(a), tokenSet(b)) >= threshold
    }
}
