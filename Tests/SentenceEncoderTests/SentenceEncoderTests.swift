import Foundation
import SentenceEncoder
import Testing

/// The model the install script extracts (`CDRA_SENTENCE_ENCODER_DIR`, set by Compose/local/env.sh).
private let encoder: SentenceEncoder = {
    do { return try SentenceEncoder() } catch { fatalError("\(error)") }
}()

private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Runs the numpy reference script on `sentences`.
private func reference(_ sentences: [String]) throws -> (tokens: [[Int32]], embeddings: [[Double]]) {
    let env = ProcessInfo.processInfo.environment
    let site = try #require(env["CDRA_NUMPY_SITE"], "CDRA_NUMPY_SITE is unset: source Compose/local/env.sh (install.sh puts numpy there)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/Support/sentence_encoder_reference.py").path,
                         SentenceEncoder.defaultDirectory().path]
    var childEnv = env
    childEnv["PYTHONPATH"] = site
    childEnv["PYTHONDONTWRITEBYTECODE"] = "1"
    process.environment = childEnv
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(try JSONEncoder().encode(sentences))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    struct Reply: Decodable { var tokens: [[Int32]]; var embeddings: [[Double]] }
    let reply = try JSONDecoder().decode(Reply.self, from: data)
    return (reply.tokens, reply.embeddings)
}

@Suite struct SentenceEncoderTests {
    @Test func sha256OfKnownVectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 56 bytes: the padding needs a second block
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func wordPiecesOfKnownWords() {
        let t = encoder.tokenizer
        #expect(t.encode("Hello, world!", maxLength: 256) == [101, 7592, 1010, 2088, 999, 102])
        // lower-cased, accents dropped, split into pieces
        #expect(t.encode("Café", maxLength: 256) == t.encode("cafe", maxLength: 256))
        #expect(t.encode("unaffable", maxLength: 256).count > 3)
        // truncation keeps [CLS] … [SEP]
        let long = t.encode(String(repeating: "word ", count: 600), maxLength: 256)
        #expect(long.count == 256 && long.first == t.cls && long.last == t.sep)
    }

    @Test func embeddingsMatchTheNumpyReference() throws {
        let sentences = [
            "Hello, world!",
            "I want to make sure my family is safe when I travel alone for work next month, but without constantly calling them.",
            "My brother asked to borrow $2,000 again — do I say no?",
            "Café naïve résumé: déjà vu in Zürich.",
            "Subletting my flat for the summer while I'm abroad; what should I check first?",
            "ok",
            "A new smart speaker for the kitchen that doesn't listen to everything we say (ideally).",
            String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40),
        ]
        let ours = encoder.embed(sentences)
        let ref = try reference(sentences)
        #expect(ours.count == sentences.count && ref.embeddings.count == sentences.count)
        for (i, s) in sentences.enumerated() {
            #expect(encoder.tokenizer.encode(s, maxLength: SentenceEncoder.maxTokens) == ref.tokens[i], "tokens of \(s)")
            var dot = 0.0, a = 0.0, b = 0.0
            for j in 0..<encoder.dimension {
                dot += Double(ours[i][j]) * ref.embeddings[i][j]
                a += Double(ours[i][j]) * Double(ours[i][j])
                b += ref.embeddings[i][j] * ref.embeddings[i][j]
            }
            let cosine = dot / (a.squareRoot() * b.squareRoot())
            print(String(format: "sentence encoder vs numpy: cosine %.6f for %@", cosine, String(s.prefix(40))))
            #expect(cosine >= 0.999, "\(s)")
        }
        // one batch or one at a time: the same vectors
        let single = encoder.embed([sentences[2]])[0]
        #expect(zip(single, ours[2]).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func paraphrasesAreCloserThanUnrelatedText() {
        let e = encoder.embed([
            "I'm going on a trip by myself.",
            "travelling alone",
            "We need a new fridge for the kitchen.",
        ])
        #expect(SentenceEncoder.cosine(e[0], e[1]) > SentenceEncoder.cosine(e[0], e[2]) + 0.2)
    }

    @Test func aMissingModelIsRefusedWithTheFix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-missing-\(UUID().uuidString)")
        #expect {
            try SentenceEncoder(directory: dir)
        } throws: { error in
            let text = "\(error)"
            return text.contains("is missing") && text.contains("install.sh") && text.contains(SentenceEncoder.wheel)
        }
    }

    @Test func aCorruptedModelIsRefused() throws {
        let source = SentenceEncoder.defaultDirectory()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("encoder-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.txt", "config.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var bytes = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        bytes[bytes.count / 2] ^= 0x10   // one bit of one weight
        try bytes.write(to: dir.appendingPathComponent("model.safetensors"))
        #expect {
            try SentenceEncoder(directory: dir)
        } throws: { "\($0)".contains("corrupted") && "\($0)".contains("SHA-256") }
        // truncated: also refused before any tensor is read
        try bytes.prefix(bytes.count - 4096).write(to: dir.appendingPathComponent("model.safetensors"))
        #expect(throws: SentenceEncoderError.self) { try SentenceEncoder(directory: dir) }
    }

    @Test func aMalformedSafetensorsFileIsRefusedWithoutReadingPastItsEnd() throws {
        let source = SentenceEncoder.defaultDirectory()
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as? [String: Any])
        let vocab = try String(contentsOf: source.appendingPathComponent("vocab.txt"), encoding: .utf8)
        // a header that claims more bytes than the file has
        let header = Array(#"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[30522,384],"data_offsets":[0,46881792]}}"#.utf8)
        var len = UInt64(header.count).littleEndian
        let file = withUnsafeBytes(of: &len) { Data($0) } + Data(header) + Data(count: 64)
        #expect {
            try SentenceEncoder(config: config, vocabularyText: vocab, safetensors: file)
        } throws: { "\($0)".contains("model.safetensors") }
    }

    @Test func prototypeEmbeddingsAreCachedExactlyAndABrokenFileIsRecomputed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdra-prototypes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let texts = ["I can't afford much this month.", "Nobody should see my messages.", "I'm scared of heights."]
        let fresh = PrototypeEmbeddings.embed(texts, with: encoder, cacheDirectory: dir)
        #expect(fresh == encoder.embed(texts))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".f32") }
        #expect(files.count == 1)
        #expect(PrototypeEmbeddings.embed(texts, with: encoder, cacheDirectory: dir) == fresh)
        // other texts: another file, never the first one's rows
        let reversed = PrototypeEmbeddings.embed(Array(texts.reversed()), with: encoder, cacheDirectory: dir)
        #expect(zip(reversed, fresh.reversed()).allSatisfy { SentenceEncoder.cosine($0, $1) > 0.99999 })
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".f32") }.count == 2)
        // a truncated file and a file of NaNs are ignored and rewritten
        let url = dir.appendingPathComponent(files[0])
        try Data(count: 100).write(to: url)
        #expect(PrototypeEmbeddings.embed(texts, with: encoder, cacheDirectory: dir) == fresh)
        try Data(repeating: 0xFF, count: texts.count * encoder.dimension * 4).write(to: url)
        #expect(PrototypeEmbeddings.embed(texts, with: encoder, cacheDirectory: dir) == fresh)
        #expect(try Data(contentsOf: url).count == texts.count * encoder.dimension * 4)
        #expect(PrototypeEmbeddings.embed(texts, with: encoder, cacheDirectory: dir) == fresh)
    }
}
