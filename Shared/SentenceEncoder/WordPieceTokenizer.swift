import Foundation

/// BERT's lower-casing WordPiece tokenizer (the one all-MiniLM-L6-v2 was trained with).
///
/// Basic step: drop NUL, U+FFFD and control characters; any whitespace becomes a space; CJK
/// ideographs become words of their own; split on spaces; lower-case, decompose (NFD) and drop
/// combining marks; split off every punctuation character (ASCII symbols and Unicode P*). WordPiece
/// step: each word becomes the longest vocabulary prefix, then the longest `##`-continuation, and so
/// on; a word that cannot be covered, or longer than 100 characters, becomes `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int32]
    public let cls: Int32, sep: Int32, unk: Int32

    /// `vocab.txt`: one token per line, the line number is its id.
    public init(vocabularyText: String) throws {
        var vocab: [String: Int32] = [:]
        var id: Int32 = 0
        var lines = vocabularyText.split(separator: "\n", omittingEmptySubsequences: false)
        if vocabularyText.hasSuffix("\n") { lines.removeLast() }
        for line in lines {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if vocab[token] == nil { vocab[token] = id }
            id += 1
        }
        guard let cls = vocab["[CLS]"], let sep = vocab["[SEP]"], let unk = vocab["[UNK]"] else {
            throw SentenceEncoderError("vocabulary lacks [CLS], [SEP] or [UNK]")
        }
        self.vocabulary = vocab
        self.cls = cls
        self.sep = sep
        self.unk = unk
    }

    /// Token ids with `[CLS]` and `[SEP]`, at most `maxLength` in all.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        var ids: [Int32] = [cls]
        for word in basicTokens(text) {
            for id in wordPieces(word) {
                if ids.count >= maxLength - 1 { break }
                ids.append(id)
            }
            if ids.count >= maxLength - 1 { break }
        }
        ids.append(sep)
        return ids
    }

    func basicTokens(_ text: String) -> [String] {
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD { continue }
            let category = s.properties.generalCategory
            if s == "\t" || s == "\n" || s == "\r" || category == .spaceSeparator {
                cleaned.append(" ")
            } else if category == .control || category == .format {
                continue
            } else if Self.isCJK(v) {
                cleaned.append(" "); cleaned.append(s); cleaned.append(" ")
            } else {
                cleaned.append(s)
            }
        }
        var words: [String] = []
        for raw in String(cleaned).split(separator: " ") {
            let folded = String(raw).lowercased().decomposedStringWithCanonicalMapping
            var current = String.UnicodeScalarView()
            for s in folded.unicodeScalars where s.properties.generalCategory != .nonspacingMark {
                if Self.isPunctuation(s) {
                    if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
                    words.append(String(s))
                } else {
                    current.append(s)
                }
            }
            if !current.isEmpty { words.append(String(current)) }
        }
        return words
    }

    func wordPieces(_ word: String) -> [Int32] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > 100 { return [unk] }
        var pieces: [Int32] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int32? = nil
            while end > start {
                var piece = start == 0 ? "" : "##"
                piece.unicodeScalars.append(contentsOf: scalars[start..<end])
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unk] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
