import Foundation

/// Checks that a span a model says it quoted really occurs in the text it quoted from, and
/// returns the span exactly as it appears there.
///
/// Policy (also in Docs/council-llm.md): an exact substring is kept; a span that matches only
/// after ignoring case, runs of whitespace, curly-vs-straight quotes, surrounding quotation
/// marks, ellipses and trailing punctuation is *repaired* to the verbatim text; anything else is
/// *not grounded* (the caller drops it).
public enum CueGrounding {
    /// The verbatim span of the first source that contains `quote`; `""` for an empty quote;
    /// nil when no source contains it.
    public static func locate(_ quote: String, in sources: [String]) -> String? {
        let cleaned = clean(quote)
        if cleaned.isEmpty { return "" }
        for source in sources where source.contains(cleaned) { return cleaned }
        let needle = normalize(cleaned).text
        if needle.isEmpty { return "" }
        for source in sources {
            let haystack = normalize(source)
            guard let range = haystack.text.range(of: needle) else { continue }
            let start = haystack.text.distance(from: haystack.text.startIndex, to: range.lowerBound)
            let end = haystack.text.distance(from: haystack.text.startIndex, to: range.upperBound)
            let original = Array(source)
            let lower = haystack.origin[start]
            let upper = haystack.origin[end - 1]
            return String(original[lower...upper])
        }
        return nil
    }

    /// Strips whitespace, wrapping quotation marks, ellipses and trailing punctuation.
    static func clean(_ quote: String) -> String {
        var text = quote.trimmingCharacters(in: .whitespacesAndNewlines)
        let wrappers: Set<Character> = ["\"", "'", "“", "”", "‘", "’", "«", "»", "`"]
        var changed = true
        while changed && !text.isEmpty {
            changed = false
            for ellipsis in ["...", "…"] {
                if text.hasPrefix(ellipsis) { text.removeFirst(ellipsis.count); changed = true }
                if text.hasSuffix(ellipsis) { text.removeLast(ellipsis.count); changed = true }
            }
            if let first = text.first, wrappers.contains(first) { text.removeFirst(); changed = true }
            if let last = text.last, wrappers.contains(last) { text.removeLast(); changed = true }
            if let last = text.last, ".,;:!?".contains(last) { text.removeLast(); changed = true }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed != text { text = trimmed; changed = true }
        }
        return text
    }

    /// Lowercased, quotes straightened, whitespace runs collapsed; `origin[i]` is the index in the
    /// source (in Characters) of normalized character `i`.
    static func normalize(_ source: String) -> (text: String, origin: [Int]) {
        var text = ""
        var origin: [Int] = []
        var lastWasSpace = false
        for (i, character) in source.enumerated() {
            if character.isWhitespace {
                if lastWasSpace || text.isEmpty { continue }
                text.append(" "); origin.append(i); lastWasSpace = true
                continue
            }
            lastWasSpace = false
            let mapped: Character
            switch character {
            case "“", "”", "«", "»": mapped = "\""
            case "‘", "’", "`": mapped = "'"
            default: mapped = Character(character.lowercased().count == 1 ? character.lowercased() : String(character))
            }
            text.append(mapped); origin.append(i)
        }
        if text.hasSuffix(" ") { text.removeLast(); origin.removeLast() }
        return (text, origin)
    }
}
