import Critique
import Events
import Testing

@Suite struct CritiqueChainParserTests {
    static let published = """
        Step 1: identifies the wish to keep family informed. Score: 0.7
        Step 2: proposes 24/7 tracking; ignores the implicit wish for autonomy. Score: -0.6
        Answer: intrusive; offers no check-in alternative. Score: -0.5
        Final score: -0.4
        """

    @Test("the published example parses into its verdicts and final score")
    func publishedExample() throws {
        let chain = try CritiqueChainParser(expectedSteps: 2).parse(Self.published)
        #expect(chain.stepVerdicts == [
            StepVerdict(index: 1, critique: "identifies the wish to keep family informed.", score: 0.7),
            StepVerdict(index: 2, critique: "proposes 24/7 tracking; ignores the implicit wish for autonomy.", score: -0.6),
        ])
        #expect(chain.answerVerdict == AnswerVerdict(critique: "intrusive; offers no check-in alternative.", score: -0.5))
        #expect(chain.finalScore == -0.4)
    }

    @Test("text form round-trips; blank lines, CRLF, case and a Unicode minus are accepted")
    func roundTripAndTolerances() throws {
        let chain = try CritiqueChainParser().parse(Self.published)
        #expect(try CritiqueChainParser().parse(chain.text) == chain)
        #expect(chain.text.hasSuffix("Final score: -0.40"))
        let loose = "\r\n  step 1: fine. SCORE: +1\r\n\r\nanswer: ok, the score: part is in the critique. score: \u{2212}0.25\r\nFINAL SCORE: .5\r\n"
        let parsed = try CritiqueChainParser(expectedSteps: 1).parse(loose)
        #expect(parsed.stepVerdicts[0].score == 1)
        #expect(parsed.answerVerdict.critique == "ok, the score: part is in the critique.")
        #expect(parsed.answerVerdict.score == -0.25)
        #expect(parsed.finalScore == 0.5)
        #expect(CritiqueChain.format(-0.004) == "0.00" && CritiqueChain.format(0.7) == "0.70" && CritiqueChain.format(-1) == "-1.00")
    }

    @Test("every kind of malformed chain is a typed error naming its line, never a score of 0",
          arguments: [
            ("", CritiqueChainParseError.Code.empty, 1),
            ("Step 1: good. Score: 0.5\nStep 3: skipped one. Score: 0.1\nAnswer: a. Score: 0\nFinal score: 0", .stepOutOfOrder, 2),
            ("Step 1: good. Score: 0.5\nAnswer: a. Score: 0\nFinal score: 0", .wrongStepCount, 2),
            ("Step 1: good.\nStep 2: b. Score: 1\nAnswer: a. Score: 0\nFinal score: 0", .missingScore, 1),
            ("Step 1: Score: 0.5\nStep 2: b. Score: 1\nAnswer: a. Score: 0\nFinal score: 0", .emptyCritique, 1),
            ("Step 1: good. Score: high\nStep 2: b. Score: 1\nAnswer: a. Score: 0\nFinal score: 0", .invalidScore, 1),
            ("Step 1: good. Score: 1e-1\nStep 2: b. Score: 1\nAnswer: a. Score: 0\nFinal score: 0", .invalidScore, 1),
            ("Step 1: good. Score: 0.5\nStep 2: b. Score: 1.5\nAnswer: a. Score: 0\nFinal score: 0", .scoreOutOfRange, 2),
            ("Step 1: good. Score: 0.5\nStep 2: b. Score: 1\nFinal score: 0", .missingAnswer, 3),
            ("Step 1: good. Score: 0.5\nStep 2: b. Score: 1\nAnswer: a. Score: 0", .missingFinalScore, 4),
            ("Step 1: good. Score: 0.5\nStep 2: b. Score: 1\nAnswer: a. Score: 0\nFinal score: 0\nStep 3: more", .trailingText, 5),
            ("Step 1: good. Score: 0.5\nStep 2: b. Score: 1\nAnswer: a. Score: 0\nFinal score: n/a", .invalidScore, 4),
            ("I think this response is fine.\nFinal score: 0.9", .unexpectedLine, 1),
          ])
    func malformedChains(text: String, code: CritiqueChainParseError.Code, line: Int) {
        let error = #expect(throws: CritiqueChainParseError.self) {
            try CritiqueChainParser(expectedSteps: code == .unexpectedLine ? nil : 2).parse(text)
        }
        #expect(error?.code == code, "\(String(describing: error))")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.isEmpty == false)
    }
}
