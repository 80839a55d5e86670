import Critique
import Testing

@Suite struct ResponseLayoutTests {
    @Test func rendersAndParsesBack() throws {
        let steps = ["Surface request: \"How do I start?\"", "Implicit preferences: time."]
        let text = ResponseLayout.text(steps: steps, answer: "Start small.\nThen grow.")
        #expect(text == "Step 1: Surface request: \"How do I start?\"\nStep 2: Implicit preferences: time.\nAnswer: Start small. Then grow.")
        let parsed = try #require(ResponseLayout.parse(text))
        #expect(parsed.steps == steps)
        #expect(parsed.answer == "Start small. Then grow.")
        #expect(ResponseLayout.lines(steps: steps, answer: "A.") == ["Step 1: \(steps[0])", "Step 2: \(steps[1])", "Answer: A."])
    }

    @Test func parsesLooseLayoutsAndRejectsMisnumbering() throws {
        let parsed = try #require(ResponseLayout.parse("preamble\nstep 1: one\ncontinued\nSTEP 2: two\nanswer: done"))
        #expect(parsed.steps == ["one continued", "two"])
        #expect(parsed.answer == "done")
        #expect(ResponseLayout.parse("Step 1: a\nStep 3: b\nAnswer: c") == nil)
        let noAnswer = try #require(ResponseLayout.parse("Step 1: a"))
        #expect(noAnswer.answer.isEmpty)
    }
}

@Suite struct ResponseLayoutTokenPartsTests {
    /// The text cut into byte chunks of `size`, as a tokenizer might.
    static func chunks(_ text: String, _ size: Int) -> [[UInt8]] {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min(bytes.count, $0 + size)]) }
    }

    @Test func everyTokenBelongsToThePartOfItsLine() throws {
        let text = "preamble\nStep 1: ground the cue\nmore of step one\nstep 2: plan\nAnswer: do it\nand step 3: not a step"
        for size in [1, 3, 7] {
            let tokens = Self.chunks(text, size)
            let (parts, steps) = try #require(ResponseLayout.tokenParts(tokenBytes: tokens))
            #expect(steps == 2 && parts.count == tokens.count)
            // Expected part of each byte, by line: preamble and step 1 → 0, step 2 → 1, the answer → 2.
            let lineOf = [0, 0, 0, 1, 2, 2]
            var line = 0
            var expected: [Int] = []
            for token in tokens {
                expected.append(lineOf[line])
                line += token.filter { $0 == 0x0A }.count
            }
            #expect(parts == expected, "chunk size \(size)")
        }
        #expect(ResponseLayout.tokenParts(tokenBytes: Self.chunks("Step 1: a\nStep 3: b\nAnswer: c", 4)) == nil)
        let answerOnly = try #require(ResponseLayout.tokenParts(tokenBytes: Self.chunks("Answer: just this", 5)))
        #expect(answerOnly.steps == 0 && answerOnly.parts.allSatisfy { $0 == 0 })
    }
}
