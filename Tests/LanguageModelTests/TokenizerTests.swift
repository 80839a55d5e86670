import Foundation
import Testing
import LanguageModel

let corpusURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/corpus.txt")

private func corpus() throws -> String { try String(contentsOf: corpusURL, encoding: .utf8) }

@Test func bpeRoundTripsArbitraryUTF8Exactly() throws {
    let tok = try Tokenizer.train(corpus: String(try corpus().prefix(60_000)), vocabularySize: 400)
    #expect(tok.vocabularySize == 400)
    let samples = [
        "", " ", "  \n\n\t x", "Mara wants to cook a quick dinner.",
        "naïve café — 日本語のテキスト, emoji 👩‍👩‍👧‍👦 and 🇫🇷!", "tabs\tand\r\nCRLF\u{0}nul",
        "<|eos|> typed by a user is not special", "12345 678.9e-3 $%^&*()", String(repeating: "ab ", count: 100),
    ]
    for s in samples {
        let ids = tok.encode(s)
        #expect(tok.decode(ids) == s, "round trip failed for \(s.debugDescription)")
        #expect(ids.allSatisfy { $0 >= 0 && Int($0) < tok.vocabularySize })
        #expect(!ids.contains(tok.specialID("<|eos|>")!))
    }
    // random byte soup that is valid UTF-8 (random scalars)
    var rng = SeededGenerator(seed: 7)
    for _ in 0..<50 {
        let scalars = (0..<Int(rng.next() % 40)).compactMap { _ in Unicode.Scalar(UInt32(rng.next() % 0x2_0000)) }
        let s = String(String.UnicodeScalarView(scalars))
        #expect(tok.decode(tok.encode(s)) == s)
    }
}

@Test func bpeCompressesTheTrainingTextAndLearnsWords() throws {
    let text = try corpus()
    let tok = try Tokenizer.train(corpus: text, vocabularySize: 512)
    let sample = String(text.prefix(5000))
    let ids = tok.encode(sample)
    let ratio = Double(sample.utf8.count) / Double(ids.count)
    print("tokenizer: vocab 512 compresses the corpus \(ratio) bytes/token")
    #expect(ratio > 2.5)
    #expect(tok.encode(" preference").count == 1)   // a frequent word becomes one token
}

@Test func specialTokensAreRecognizedOnlyWhenAllowed() throws {
    let tok = try Tokenizer.train(corpus: "hello world hello world", vocabularySize: 280)
    let eos = tok.specialID("<|eos|>")!, user = tok.specialID("<|user|>")!
    #expect(eos == 257 && user == 260)
    let ids = tok.encode("<|user|>hi<|eos|>", allowingSpecialTokens: true)
    #expect(ids.first == user && ids.last == eos)
    #expect(tok.decode(ids) == "<|user|>hi<|eos|>")
    #expect(!tok.encode("<|user|>hi<|eos|>").contains(eos))
}

@Test func tokenizerSaveAndLoadGivesTheSameEncoding() throws {
    let tok = try Tokenizer.train(corpus: String(try corpus().prefix(30_000)), vocabularySize: 350)
    let loaded = try Tokenizer(serialized: tok.serialized())
    #expect(loaded == tok)
    let s = "Step 2: She uses a timer and checks the plan on Friday."
    #expect(loaded.encode(s) == tok.encode(s))
    #expect(throws: ModelError.self) { try Tokenizer(serialized: "{\"format\":\"cdra-byte-bpe\",\"version\":1,\"specialTokens\":[],\"merges\":[[5,999]]}") }
    #expect(throws: ModelError.self) { try Tokenizer(serialized: "not json") }
}

@Test func trainingIsDeterministic() throws {
    let text = String(try corpus().prefix(20_000))
    #expect(try Tokenizer.train(corpus: text, vocabularySize: 330) == Tokenizer.train(corpus: text, vocabularySize: 330))
}
