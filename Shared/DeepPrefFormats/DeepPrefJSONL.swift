import DeepPref
import Foundation

/// Our own JSONL format: one ``DeepPrefPair`` per line, keys sorted, so equal pairs give equal bytes.
public enum DeepPrefJSONL {
    public static func encode(_ pairs: [DeepPrefPair]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for p in pairs {
            out.append(try encoder.encode(p))
            out.append(0x0A)
        }
        return out
    }

    /// Parses every non-blank line; a ``PairFileError`` names the 1-based line number.
    public static func decode(_ data: Data) throws -> [DeepPrefPair] {
        let decoder = JSONDecoder()
        var pairs: [DeepPrefPair] = []
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do {
                pairs.append(try decoder.decode(DeepPrefPair.self, from: Data(line)))
            } catch {
                throw PairFileError(.malformed, "line \(lineNumber): \(error)")
            }
        }
        return pairs
    }
}
