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
