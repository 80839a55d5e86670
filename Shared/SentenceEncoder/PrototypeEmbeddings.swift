import Foundation

/// Embeddings of a fixed list of texts (a knowledge pack's prototypes), kept on disk so that a
/// replica does not embed the same few thousand sentences at every start.
///
/// The file is `<directory>/prototypes-<key>.f32`: the raw little-endian floats, one row of
/// `dimension` per text. The key is the SHA-256 of the pinned model digests, the encoder's shape
/// and every text, so a changed pack or model never reads a stale file. A file of the wrong size
/// or with a non-finite value is ignored and written again; a directory that cannot be written
/// only costs the time of embedding.
public enum PrototypeEmbeddings {
    /// `$CDRA_SENTENCE_ENCODER_CACHE`, else `cache/` beside the model, else nowhere.
    public static func defaultDirectory(for encoder: SentenceEncoder,
                                        environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let dir = environment["CDRA_SENTENCE_ENCODER_CACHE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return encoder.directory?.appendingPathComponent("cache")
    }

    /// Unit embeddings of `texts`, read from the cache when it holds exactly these, else computed
    /// (in batches of 64) and stored.
    public static func embed(_ texts: [String], with encoder: SentenceEncoder, cacheDirectory: URL?) -> [[Float]] {
        let C = encoder.dimension
        let url = cacheDirectory?.appendingPathComponent("prototypes-\(key(texts, encoder)).f32")
        if let url, let data = try? Data(contentsOf: url), data.count == texts.count * C * 4 {
            let floats = data.withUnsafeBytes { raw in
                (0..<(texts.count * C)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            if floats.allSatisfy(\.isFinite) {
                return (0..<texts.count).map { Array(floats[($0 * C)..<(($0 + 1) * C)]) }
            }
        }
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        var i = 0
        while i < texts.count {
            out += encoder.embed(Array(texts[i..<min(texts.count, i + 64)]))
            i += 64
        }
        if let url, let dir = cacheDirectory {
            var bytes = Data(capacity: texts.count * C * 4)
            for row in out { for v in row { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } } }
            let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                try bytes.write(to: tmp)
                // rename is atomic: a reader sees the whole file or none
                if rename(tmp.path, url.path) != 0 { try? FileManager.default.removeItem(at: tmp) }
            } catch {
                try? FileManager.default.removeItem(at: tmp)
            }
        }
        return out
    }

    static func key(_ texts: [String], _ encoder: SentenceEncoder) -> String {
        var input = SentenceEncoder.pinnedFiles.map(\.sha256).joined(separator: ",")
        input += "|\(encoder.dimension)|\(encoder.layers)|\(encoder.heads)|\(encoder.inner)|\(texts.count)"
        for t in texts { input += "\u{0}" + t }
        return SHA256.hex(Array(input.utf8))
    }
}
