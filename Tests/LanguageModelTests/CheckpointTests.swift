import Foundation
import Testing
import LanguageModel

private let tinyConfig = TransformerConfig(vocabularySize: 300, contextLength: 16, layerCount: 2, headCount: 2, channelCount: 16)

private func makeCheckpoint() throws -> (Transformer, Tokenizer, [UInt8]) {
    let tok = try Tokenizer.train(corpus: "the cat sat on the mat; the cat ate the rat", vocabularySize: 290)
    let model = try Transformer(config: tinyConfig, seed: 42)
    return (model, tok, model.checkpointBytes(tokenizer: tok, metadata: ["step": "12"]))
}

@Test func checkpointRoundTripIsBitExact() throws {
    let (model, tok, bytes) = try makeCheckpoint()
    let loaded = try Checkpoint(bytes: bytes)
    #expect(loaded.model.config == tinyConfig)
    #expect(loaded.tokenizer == tok)
    #expect(loaded.metadata["step"] == "12")
    let a = model.parameters.toArray().map(\.bitPattern), b = loaded.model.parameters.toArray().map(\.bitPattern)
    #expect(a == b)
    #expect(loaded.bytes() == bytes)   // re-saving gives the same file
    // safetensors framing: 8-byte length, JSON header starting with '{', 8-byte aligned data
    let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect(bytes[8] == UInt8(ascii: "{") && n % 8 == 0)
    #expect(bytes.count == 8 + n + tinyConfig.parameterCount * 4)
}

@Test func truncatedCheckpointIsRejected() throws {
    let (_, _, bytes) = try makeCheckpoint()
    for cut in [0, 5, 100, bytes.count / 2, bytes.count - 1] {
        #expect {
            try Checkpoint(bytes: Array(bytes.prefix(cut)))
        } throws: { ($0 as? ModelError).map { $0.code == .truncatedCheckpoint || $0.code == .malformedCheckpoint } ?? false }
    }
    #expect { try Checkpoint(bytes: Array(bytes.prefix(bytes.count - 1))) } throws: { ($0 as? ModelError)?.code == .truncatedCheckpoint }
}

@Test func corruptedCheckpointIsRejected() throws {
    let (_, _, bytes) = try makeCheckpoint()
    var flipped = bytes
    flipped[bytes.count - 10] ^= 0x01   // one bit of one weight
    #expect { try Checkpoint(bytes: flipped) } throws: { ($0 as? ModelError)?.code == .corruptedCheckpoint }
    var header = bytes
    header[9] = UInt8(ascii: "[")        // header no longer a JSON object
    #expect { try Checkpoint(bytes: header) } throws: { ($0 as? ModelError)?.code == .malformedCheckpoint }
    var extra = bytes
    extra.append(0)
    #expect { try Checkpoint(bytes: extra) } throws: { ($0 as? ModelError)?.code == .mismatchedCheckpoint }
}

@Test func checkpointWithMismatchedShapesIsRejected() throws {
    let (_, _, bytes) = try makeCheckpoint()
    // rewrite the header so the config claims 3 layers while the tensors hold 2
    let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    var header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
    #expect(header.contains("\\\"layerCount\\\":2"))
    header = header.replacingOccurrences(of: "\\\"layerCount\\\":2", with: "\\\"layerCount\\\":3")
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var len = UInt64(h.count).littleEndian
    var forged = withUnsafeBytes(of: &len) { Array($0) } + h + bytes[(8 + n)...]
    #expect { try Checkpoint(bytes: forged) } throws: { ($0 as? ModelError)?.code == .mismatchedCheckpoint }
    forged = []
    #expect(throws: ModelError.self) { try Transformer(checkpointBytes: forged) }
}

@Test func copyIsIndependentOfTheOriginal() throws {
    let model = try Transformer(config: tinyConfig, seed: 9)
    let clone = model.copy()
    #expect(clone.parameters.toArray() == model.parameters.toArray())
    clone.parameters[0] += 1
    #expect(clone.parameters[0] != model.parameters[0])
}
