/// Content words of a text: lower-cased alphanumeric words of ≥ 4 letters that are not stopwords.
/// Shared with the built-in council and judge.
package enum ContentWords {
    package static func words(_ text: String, stopwords: [String]) -> [String] {
        let stop = Set(stopwords)
        var out: [String] = []
        var seen = Set<String>()
        var current = ""
        func flush() {
            if current.count >= 4 && !stop.contains(current) && seen.insert(current).inserted { out.append(current) }
            current = ""
        }
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber { current.append(ch) } else { flush() }
        }
        flush()
        return out
    }

    /// Up to four content words, longest first (ties in text order): a stand-in for a focus phrase.
    package static func salient(_ text: String, stopwords: [String]) -> [String] {
        let w = words(text, stopwords: stopwords)
        let ranked = w.enumerated().sorted { $0.element.count != $1.element.count ? $0.element.count > $1.element.count : $0.offset < $1.offset }
        return ranked.prefix(4).map(\.element)
    }

    /// Crude stem: the first four letters, so "safety" meets "safe" and "travelling" meets "travel".
    package static func stem(_ w: String) -> String { String(w.prefix(4)) }
}
