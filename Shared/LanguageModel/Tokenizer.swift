import Foundation

/// Byte-level BPE tokenizer.
///
/// Token ids: 0–255 are the raw bytes, then the special tokens, then one id per learned merge.
/// Because every byte has its own token, any UTF-8 text encodes, and `decode(encode(s)) == s`
/// exactly. Plain `encode` never produces special tokens (a user typing "<|eos|>" gets ordinary
/// byte tokens); structure is added with the special ids or `encode(_:allowingSpecialTokens:)`.
public struct Tokenizer: Sendable, Equatable {
    /// The structure markers every CDRA model knows.
    public static let defaultSpecialTokens = [
        "<|bos|>", "<|eos|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>",
        "<|step|>", "<|answer|>", "<|critique|>", "<|score|>",
    ]

    /// Special token strings; token id of `specialTokens[i]` is `256 + i`.
    public let specialTokens: [String]
    /// Learned merges in order; merge i joins the pair into token id `256 + specialTokens.count + i`.
    public let merges: [Merge]
    /// The bytes each token stands for (special tokens: their UTF-8 text).
    private let tokenBytes: [[UInt8]]
    private let ranks: [UInt64: Int32]   // pair key → merged token id (lower id = earlier merge)

    /// One merge rule: `left` followed by `right` becomes a new token.
    public struct Merge: Codable, Equatable, Sendable {
        public var left: Int32
        public var right: Int32
        public init(_ left: Int32, _ right: Int32) {
            self.left = left
            self.right = right
        }
    }

    /// Total number of token ids.
    public var vocabularySize: Int { 256 + specialTokens.count + merges.count }
    /// Id of the first merge token.
    public var firstMergeID: Int32 { Int32(256 + specialTokens.count) }

    /// A tokenizer from explicit merges; throws if a merge refers to a token not yet defined.
    public init(specialTokens: [String] = Tokenizer.defaultSpecialTokens, merges: [Merge]) throws {
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains("") else {
            throw ModelError(.malformedTokenizer, "special tokens must be distinct and non-empty")
        }
        self.specialTokens = specialTokens
        self.merges = merges
        var bytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        bytes += specialTokens.map { Array($0.utf8) }
        var ranks: [UInt64: Int32] = [:]
        let specialRange = 256..<(256 + specialTokens.count)
        for m in merges {
            let next = Int32(bytes.count)
            guard m.left >= 0, m.right >= 0, m.left < next, m.right < next,
                  !specialRange.contains(Int(m.left)), !specialRange.contains(Int(m.right)) else {
                throw ModelError(.malformedTokenizer, "merge (\(m.left), \(m.right)) refers to an undefined or special token")
            }
            bytes.append(bytes[Int(m.left)] + bytes[Int(m.right)])
            ranks[Self.key(m.left, m.right)] = next
        }
        self.tokenBytes = bytes
        self.ranks = ranks
    }

    /// Id of a special token, e.g. `specialID("<|eos|>")`.
    public func specialID(_ token: String) -> Int32? {
        specialTokens.firstIndex(of: token).map { Int32(256 + $0) }
    }

    // MARK: - Training

    /// Learns merges on `corpus` until the vocabulary has `vocabularySize` tokens (or no pair
    /// occurs twice). Deterministic: ties go to the smaller pair of ids.
    public static func train(corpus: String, vocabularySize: Int,
                             specialTokens: [String] = Tokenizer.defaultSpecialTokens) throws -> Tokenizer {
        let base = 256 + specialTokens.count
        guard vocabularySize >= base else {
            throw ModelError(.invalidConfiguration, "vocabulary \(vocabularySize) is smaller than bytes + special tokens (\(base))")
        }
        // unique pre-tokenized chunks with their counts
        var chunkCounts: [[UInt8]: Int] = [:]
        let bytes = Array(corpus.utf8)
        for r in pretokenize(bytes) { chunkCounts[Array(bytes[r]), default: 0] += 1 }
        var words = chunkCounts.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { $0.map(Int32.init) }
        let counts = words.map { w in chunkCounts[w.map { UInt8($0) }]! }

        var pairCounts: [UInt64: Int] = [:]
        var pairWords: [UInt64: Set<Int>] = [:]
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let k = key(word[i], word[i + 1])
                pairCounts[k, default: 0] += counts[w]
                pairWords[k, default: []].insert(w)
            }
        }
        var merges: [Merge] = []
        while base + merges.count < vocabularySize {
            var best: UInt64 = 0
            var bestCount = 1
            for (k, c) in pairCounts where c > bestCount || (c == bestCount && c > 1 && k < best) {
                best = k
                bestCount = c
            }
            if bestCount < 2 { break }
            let left = Int32(truncatingIfNeeded: best >> 32), right = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            let newID = Int32(base + merges.count)
            merges.append(Merge(left, right))
            for w in pairWords[best] ?? [] {
                let word = words[w]
                if word.count < 2 { continue }
                // remove this word's old pairs, merge, add the new pairs
                for i in 0..<(word.count - 1) { pairCounts[key(word[i], word[i + 1]), default: 0] -= counts[w] }
                var merged: [Int32] = []
                merged.reserveCapacity(word.count)
                var i = 0
                while i < word.count {
                    if i + 1 < word.count && word[i] == left && word[i + 1] == right {
                        merged.append(newID)
                        i += 2
                    } else {
                        merged.append(word[i])
                        i += 1
                    }
                }
                words[w] = merged
                if merged.count > 1 {
                    for i in 0..<(merged.count - 1) {
                        let k = key(merged[i], merged[i + 1])
                        pairCounts[k, default: 0] += counts[w]
                        pairWords[k, default: []].insert(w)
                    }
                }
            }
            pairCounts[best] = nil
            pairWords[best] = nil
        }
        return try Tokenizer(specialTokens: specialTokens, merges: merges)
    }

    // MARK: - Encoding

    /// Encodes text as ordinary bytes (special-token strings in `text` are not special).
    public func encode(_ text: String) -> [Int32] {
        encodeBytes(Array(text.utf8))
    }

    /// Encodes text; if `allowingSpecialTokens`, occurrences of special-token strings become
    /// their special ids.
    public func encode(_ text: String, allowingSpecialTokens: Bool) -> [Int32] {
        guard allowingSpecialTokens, !specialTokens.isEmpty else { return encode(text) }
        let bytes = Array(text.utf8)
        let specials = specialTokens.map { Array($0.utf8) }
        var out: [Int32] = []
        var start = 0, i = 0
        while i < bytes.count {
            var matched = -1
            if bytes[i] == specials.first?.first || specials.contains(where: { $0.first == bytes[i] }) {
                for (s, sb) in specials.enumerated() where i + sb.count <= bytes.count && Array(bytes[i..<(i + sb.count)]) == sb {
                    matched = s
                    break
                }
            }
            if matched >= 0 {
                out += encodeBytes(Array(bytes[start..<i]))
                out.append(Int32(256 + matched))
                i += specials[matched].count
                start = i
            } else {
                i += 1
            }
        }
        out += encodeBytes(Array(bytes[start..<bytes.count]))
        return out
    }

    /// Encodes raw bytes.
    public func encodeBytes(_ bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 2)
        for r in Self.pretokenize(bytes) {
            var symbols = bytes[r].map(Int32.init)
            // apply the earliest-learned merge present until none applies
            while symbols.count > 1 {
                var bestID = Int32.max
                for i in 0..<(symbols.count - 1) {
                    if let id = ranks[Self.key(symbols[i], symbols[i + 1])], id < bestID { bestID = id }
                }
                if bestID == Int32.max { break }
                let m = merges[Int(bestID - firstMergeID)]
                var merged: [Int32] = []
                merged.reserveCapacity(symbols.count)
                var i = 0
                while i < symbols.count {
                    if i + 1 < symbols.count && symbols[i] == m.left && symbols[i + 1] == m.right {
                        merged.append(bestID)
                        i += 2
                    } else {
                        merged.append(symbols[i])
                        i += 1
                    }
                }
                symbols = merged
            }
            out += symbols
        }
        return out
    }

    // MARK: - Decoding

    /// The bytes the tokens stand for (special tokens as their text). Ids out of range are skipped.
    public func decodeBytes(_ tokens: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        for t in tokens where t >= 0 && Int(t) < tokenBytes.count { out += tokenBytes[Int(t)] }
        return out
    }

    /// Decodes to text; a byte sequence that is not valid UTF-8 (a sampled sequence cut inside a
    /// character) gets U+FFFD replacement characters.
    public func decode(_ tokens: [Int32]) -> String {
        String(decoding: decodeBytes(tokens), as: UTF8.self)
    }

    // MARK: - Serialization

    private struct Stored: Codable {
        var format: String
        var version: Int
        var specialTokens: [String]
        var merges: [[Int32]]
    }

    /// JSON description (stored in checkpoints next to the weights).
    public func serialized() -> String {
        let stored = Stored(format: "cdra-byte-bpe", version: 1, specialTokens: specialTokens,
                            merges: merges.map { [$0.left, $0.right] })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(stored), as: UTF8.self)
    }

    /// Reads what `serialized()` wrote.
    public init(serialized json: String) throws {
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(json.utf8)),
              stored.format == "cdra-byte-bpe", stored.version == 1,
              stored.merges.allSatisfy({ $0.count == 2 }) else {
            throw ModelError(.malformedTokenizer, "not a cdra-byte-bpe v1 tokenizer description")
        }
        try self.init(specialTokens: stored.specialTokens, merges: stored.merges.map { Merge($0[0], $0[1]) })
    }

    public static func == (a: Tokenizer, b: Tokenizer) -> Bool {
        a.specialTokens == b.specialTokens && a.merges == b.merges
    }

    // MARK: - Pre-tokenization

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    private enum ByteClass { case letter, digit, space, otherSpace, punctuation }

    private static func byteClass(_ b: UInt8) -> ByteClass {
        switch b {
        case 0x41...0x5A, 0x61...0x7A, 0x80...0xFF: return .letter   // non-ASCII bytes count as letters
        case 0x30...0x39: return .digit
        case 0x20: return .space
        case 0x09, 0x0A, 0x0D, 0x0B, 0x0C: return .otherSpace
        default: return .punctuation
        }
    }

    /// Splits bytes into chunks that merges never cross (GPT-2 style): an optional leading space
    /// plus a run of letters, digits or punctuation; whitespace runs keep their last space for
    /// the next word. Chunks cover the input exactly, in order.
    static func pretokenize(_ bytes: [UInt8]) -> [Range<Int>] {
        var chunks: [Range<Int>] = []
        var i = 0
        let n = bytes.count
        while i < n {
            let start = i
            var cls = byteClass(bytes[i])
            if cls == .space, i + 1 < n, case let next = byteClass(bytes[i + 1]), next != .space, next != .otherSpace {
                i += 1
                cls = next
            }
            switch cls {
            case .space, .otherSpace:
                while i < n, case let c = byteClass(bytes[i]), c == .space || c == .otherSpace { i += 1 }
                // leave a final space to lead the following word
                if i < n, i - start > 1, bytes[i - 1] == 0x20 { i -= 1 }
            default:
                while i < n && byteClass(bytes[i]) == cls { i += 1 }
            }
            chunks.append(start..<i)
        }
        return chunks
    }
}
