import Foundation

/// The sentences the benchmark builder writes around the cues, which the pack declares free of
/// hidden preferences: every topic's contexts and requests with their slots filled by the topic's
/// fillers (a request starts the last sentence, which may go on with a cue clause), its stated
/// preferences, and every distractor sentence. A reader that infers from situations and meaning
/// skips them, so a scenario frame such as "I need to write a note to my ex." is not read as a
/// situation; the cue detector reads them by its own rules as before. Text a person writes in
/// their own words is never a frame.
public struct PackFrames: Sendable {
    /// Every context sentence and every request the builder can write (each template filled with
    /// every combination of its topic's fillers), in lowercase.
    let sentences: Set<String>
    let requests: [[Character]]

    public init(pack: KnowledgePack) {
        var sentences = Set<String>(), requests = Set<String>()
        for t in pack.topics {
            for c in t.contexts { for s in Self.filled(c, t.fillers) { sentences.insert(Self.key(s)) } }
            for r in t.requests { for s in Self.filled(r, t.fillers) { requests.insert(Self.key(s)) } }
            for s in t.statedPreferences { sentences.insert(Self.key(s.text)) }
        }
        for d in pack.distractors {
            for s in d.sentences { sentences.insert(Self.key(s)) }
        }
        self.sentences = sentences
        // longest first, so a request that extends another is taken whole
        self.requests = requests.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }.map { Array($0) }
    }

    /// `text` with its frame sentences (and a request's frame at the start of a sentence) taken
    /// out; everything else verbatim, sentences joined by one space.
    public func readable(_ text: String) -> String {
        var kept: [Substring] = []
        for sentence in Self.sentences(of: text) {
            if sentences.contains(Self.key(String(sentence))) { continue }
            let chars = Self.lower(sentence)
            if let r = requests.first(where: { Self.isPrefix($0, of: chars) }) {
                // the request alone, or the request followed by a clause of the person's own
                let rest = sentence.dropFirst(r.count).drop { $0 == " " || $0 == "," }
                if rest.allSatisfy({ "?.! ".contains($0) }) { continue }
                kept.append(rest)
                continue
            }
            kept.append(sentence)
        }
        return kept.joined(separator: " ")
    }

    /// `template` with its `{slot}`s filled in every combination of `fillers`.
    static func filled(_ template: String, _ fillers: [String: [String]]) -> [String] {
        var out = [template]
        for slot in TemplateText.slots(in: template) {
            let values = fillers[slot] ?? []
            out = out.flatMap { t in values.map { t.replacingOccurrences(of: "{\(slot)}", with: $0) } }
        }
        return out
    }

    /// `prefix` starts `s` and ends at a word boundary of it.
    static func isPrefix(_ prefix: [Character], of s: [Character]) -> Bool {
        guard prefix.count <= s.count, Array(s[0..<prefix.count]) == prefix else { return false }
        return prefix.count == s.count || !(s[prefix.count].isLetter || s[prefix.count].isNumber)
    }

    /// Sentences of `text`, each with its closing punctuation, trimmed.
    public static func sentences(of text: String) -> [Substring] {
        var out: [Substring] = []
        var start = text.startIndex, i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if ".?!\n".contains(c), next == text.endIndex || text[next] == " " || text[next] == "\n" {
                let s = text[start..<next].trimmingSpaces()
                if !s.isEmpty { out.append(s) }
                start = next
            }
            i = next
        }
        let s = text[start...].trimmingSpaces()
        if !s.isEmpty { out.append(s) }
        return out
    }

    static func key(_ s: String) -> String { s.lowercased().trimmingCharacters(in: .whitespaces) }

    /// Lowercase, one character for one character (offsets stay those of the original).
    static func lower<S: Sequence<Character>>(_ s: S) -> [Character] { s.map { $0.lowercased().first ?? $0 } }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\n" || f == "\r" || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\n" || l == "\r" || l == "\t" { s = s.dropLast() }
        return s
    }
}
