/// Small text helpers of the built-in council's answer writer.
enum AnswerText {
    /// First person → second person, word by word ("I prefer my own pace" → "you prefer your own pace").
    static func secondPerson(_ s: String) -> String {
        let map: [String: String] = [
            "i": "you", "i'm": "you're", "i’m": "you’re", "i've": "you've", "i’ve": "you’ve", "i'd": "you'd",
            "i’d": "you’d", "i'll": "you'll", "i’ll": "you’ll", "my": "your", "me": "you", "myself": "yourself",
            "mine": "yours", "am": "are", "we": "you", "our": "your", "us": "you",
        ]
        var out: [String] = []
        for word in s.split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            let core = w.trimmingCharacters(in: .punctuationWithoutApostrophe)
            if let r = map[core.lowercased()] {
                out.append(w.replacingOccurrences(of: core, with: r))
            } else {
                out.append(w)
            }
        }
        return out.joined(separator: " ")
    }

    /// "What's the best way to keep my plants alive" → "To keep your plants alive"; nil when the
    /// request has none of the common question openings.
    static func purposeClause(ofRequest request: String) -> String? {
        let openings = ["what's the best way to ", "what is the best way to ", "how can i ", "how do i ", "how should i ",
                        "can you help me ", "could you help me ", "what should i do to ", "how could i ",
                        "what's a good way to ", "what is a good way to ", "any tips on how to ", "how would you "]
        let lower = request.lowercased()
        for o in openings where lower.hasPrefix(o) {
            var rest = String(request.dropFirst(o.count))
            if rest.hasSuffix("?") { rest.removeLast() }
            if rest.lowercased().hasPrefix("to ") { rest = String(rest.dropFirst(3)) }
            guard !rest.isEmpty else { return nil }
            return "To " + secondPerson(rest)
        }
        return nil
    }

    /// The last sentence of a question (the request), trimmed; a verbatim substring of `question`.
    static func requestSpan(of question: String) -> String {
        let chars = Array(question)
        var end = chars.count
        while end > 0 && chars[end - 1].isWhitespace { end -= 1 }
        guard end > 0 else { return "" }
        var start = end - 1
        while start > 0 && !".!?\n".contains(chars[start - 1]) { start -= 1 }
        // The final "?" belongs to the request; a sentence ending in "." before it stays out.
        if start == end - 1 && start > 0 {
            start -= 1
            while start > 0 && !".!?\n".contains(chars[start - 1]) { start -= 1 }
        }
        while start < end && chars[start].isWhitespace { start += 1 }
        var s = String(chars[start..<end])
        if s.count > 200 { s = String(s.prefix(200)) }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }

    /// Stable 64-bit hash (FNV-1a) for picking text variants without randomness.
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    static func pick(_ items: [String], _ key: String) -> String {
        items[Int(stableHash(key) % UInt64(items.count))]
    }

    static func sentence(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard let last = t.last else { return t }
        return ".!?".contains(last) ? t : t + "."
    }
}

import Foundation

extension CharacterSet {
    static let punctuationWithoutApostrophe: CharacterSet = {
        var s = CharacterSet.punctuationCharacters
        s.remove(charactersIn: "'’")
        return s
    }()
}
