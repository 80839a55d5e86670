import Foundation
import Tensor

/// A model with its tokenizer and metadata, stored in the safetensors format.
///
/// Layout: an 8-byte little-endian header length, a JSON header (padded with spaces to a multiple
/// of 8), then every parameter tensor as little-endian float32 in `ParameterLayout` order. The
/// header's `__metadata__` holds `format` (`cdra-transformer`), `format_version` (`1`), `config`
/// (JSON of `TransformerConfig`), `tokenizer` (JSON, optional), `crc32` (of config, tokenizer and
/// tensor bytes) and any caller metadata. Loading checks everything before building the model,
/// so a bad file is rejected with a `ModelError`, never half-loaded.
public struct Checkpoint {
    /// The model (weights and config).
    public var model: Transformer
    /// The tokenizer saved with the model, if any.
    public var tokenizer: Tokenizer?
    /// Free-form string metadata (e.g. step, run id). Keys `format`, `format_version`, `config`,
    /// `tokenizer` and `crc32` are reserved.
    public var metadata: [String: String]

    static let reservedKeys: Set<String> = ["format", "format_version", "config", "tokenizer", "crc32"]

    public init(model: Transformer, tokenizer: Tokenizer? = nil, metadata: [String: String] = [:]) {
        self.model = model
        self.tokenizer = tokenizer
        self.metadata = metadata.filter { !Self.reservedKeys.contains($0.key) }
    }

    // MARK: - Writing

    /// The checkpoint file's bytes (what the trainer stores in PostgreSQL). Deterministic: the same
    /// model, tokenizer and metadata give the same bytes.
    public func bytes() -> [UInt8] {
        let configJSON = Self.json(model.config)
        let tokenizerJSON = tokenizer?.serialized()
        let dataCount = model.parameters.count * 4
        var data = [UInt8](repeating: 0, count: dataCount)
        data.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: UInt32.self)
            for i in 0..<model.parameters.count { out[i] = model.parameters[i].bitPattern.littleEndian }
        }
        let crc = Self.checksum(config: configJSON, tokenizer: tokenizerJSON, data: data)

        var meta = metadata
        meta["format"] = "cdra-transformer"
        meta["format_version"] = "1"
        meta["config"] = configJSON
        if let tokenizerJSON { meta["tokenizer"] = tokenizerJSON }
        meta["crc32"] = String(format: "%08x", crc)
        var parts = ["\"__metadata__\":{" + meta.keys.sorted().map { "\(Self.quote($0)):\(Self.quote(meta[$0]!))" }
            .joined(separator: ",") + "}"]
        for e in model.layout.entries {
            let shape = e.shape.map(String.init).joined(separator: ",")
            parts.append("\(Self.quote(e.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(e.offset * 4),\((e.offset + e.count) * 4)]}")
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + dataCount)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out += $0 }
        out += header
        out += data
        return out
    }

    /// Writes `bytes()` to a file atomically.
    public func write(to url: URL) throws {
        try Data(bytes()).write(to: url, options: .atomic)
    }

    // MARK: - Reading

    /// Parses and validates checkpoint bytes.
    public init(bytes: [UInt8]) throws {
        let file = try bytes.withUnsafeBytes { try Safetensors(bytes: $0) }
        guard let meta = file.metadata else {
            throw ModelError(.malformedCheckpoint, "header is not a safetensors JSON object with __metadata__")
        }
        let headerEnd = file.dataStart
        guard meta["format"] == "cdra-transformer", meta["format_version"] == "1" else {
            throw ModelError(.malformedCheckpoint, "not a cdra-transformer v1 checkpoint (format \(meta["format"] ?? "none"))")
        }
        guard let configJSON = meta["config"],
              let config = try? JSONDecoder().decode(TransformerConfig.self, from: Data(configJSON.utf8)) else {
            throw ModelError(.malformedCheckpoint, "missing or unreadable config")
        }
        do { try config.validate() } catch {
            throw ModelError(.mismatchedCheckpoint, "checkpoint declares an invalid config \(configJSON)")
        }
        let layout = ParameterLayout(config)
        let tensorNames = Set(file.entries.keys)
        guard tensorNames == Set(layout.entries.map(\.name)) else {
            throw ModelError(.mismatchedCheckpoint, "tensors \(tensorNames.sorted()) do not match the config's \(layout.entries.map(\.name))")
        }
        for e in layout.entries {
            let info = file.entries[e.name]!
            guard info.dtype == "F32" else { throw ModelError(.mismatchedCheckpoint, "tensor \(e.name) has dtype \(info.dtype), expected F32") }
            guard info.shape == e.shape else {
                throw ModelError(.mismatchedCheckpoint, "tensor \(e.name) has shape \(info.shape), config needs \(e.shape)")
            }
            guard info.offsets == (e.offset * 4)..<((e.offset + e.count) * 4) else {
                throw ModelError(.mismatchedCheckpoint, "tensor \(e.name) at offsets \(info.offsets), expected \([e.offset * 4, (e.offset + e.count) * 4])")
            }
        }
        let dataCount = layout.totalCount * 4
        let available = bytes.count - headerEnd
        guard available >= dataCount else {
            throw ModelError(.truncatedCheckpoint, "tensor data has \(available) of \(dataCount) bytes")
        }
        guard available == dataCount else {
            throw ModelError(.mismatchedCheckpoint, "\(available - dataCount) unexpected bytes after the tensor data")
        }
        let tokenizerJSON = meta["tokenizer"]
        let data = bytes[headerEnd..<bytes.count]
        let crc = Self.checksum(config: configJSON, tokenizer: tokenizerJSON, data: data)
        guard meta["crc32"] == String(format: "%08x", crc) else {
            throw ModelError(.corruptedCheckpoint, "checksum \(meta["crc32"] ?? "missing") does not match the contents (\(String(format: "%08x", crc)))")
        }
        let tokenizer = try tokenizerJSON.map { try Tokenizer(serialized: $0) }
        if let tokenizer, tokenizer.vocabularySize > config.vocabularySize {
            throw ModelError(.mismatchedCheckpoint, "tokenizer has \(tokenizer.vocabularySize) tokens, model only \(config.vocabularySize)")
        }
        let model = try Transformer(config: config, seed: 0)
        data.withUnsafeBytes { raw in
            for i in 0..<layout.totalCount {
                let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                model.parameters[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
        self.init(model: model, tokenizer: tokenizer, metadata: meta)
    }

    /// Reads and validates a checkpoint file.
    public init(contentsOf url: URL) throws {
        try self.init(bytes: Array(try Data(contentsOf: url)))
    }

    // MARK: - Helpers

    private static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    private static func quote(_ s: String) -> String {
        String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    }

    private static func checksum<D: Collection>(config: String, tokenizer: String?, data: D) -> UInt32 where D.Element == UInt8 {
        var crc = CRC32()
        crc.update(Array(config.utf8))
        crc.update(Array((tokenizer ?? "").utf8))
        crc.update(data)
        return crc.value
    }
}

/// CRC-32 (IEEE 802.3), as zlib computes it.
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var crc: UInt32 = 0xFFFF_FFFF
    mutating func update<D: Collection>(_ bytes: D) where D.Element == UInt8 {
        var c = crc
        for b in bytes { c = Self.table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        crc = c
    }
    var value: UInt32 { crc ^ 0xFFFF_FFFF }
}

extension Transformer {
    /// Checkpoint bytes of this model (safetensors; see `Checkpoint`).
    public func checkpointBytes(tokenizer: Tokenizer? = nil, metadata: [String: String] = [:]) -> [UInt8] {
        Checkpoint(model: self, tokenizer: tokenizer, metadata: metadata).bytes()
    }

    /// Loads a model from checkpoint bytes (the tokenizer, if any, is available via `Checkpoint`).
    public convenience init(checkpointBytes: [UInt8]) throws {
        let checkpoint = try Checkpoint(bytes: checkpointBytes)
        try self.init(config: checkpoint.model.config, parameters: checkpoint.model.parameters.toArray())
    }
}
