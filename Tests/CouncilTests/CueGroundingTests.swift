import Council
import Events
import Foundation
import Testing

@Suite struct CueGroundingTests {
    let question = "What's the best way to let them know where I am without constantly calling?"

    @Test func exactSpansAreKept() {
        #expect(CueGrounding.locate("without constantly calling", in: [question]) == "without constantly calling")
        #expect(CueGrounding.locate("", in: [question]) == "")
    }

    @Test func looseSpansAreRepairedToTheVerbatimText() {
        #expect(CueGrounding.locate("\u{201C}Let them  know where I am\u{201D}", in: [question]) == "let them know where I am")
        #expect(CueGrounding.locate("...without constantly calling?", in: [question]) == "without constantly calling")
        #expect(CueGrounding.locate("what\u{2019}s the best way", in: [question]) == "What's the best way")
    }

    @Test func spansNotInTheTextAreNotGrounded() {
        #expect(CueGrounding.locate("I hate tracking apps", in: [question]) == nil)
        #expect(CueGrounding.locate("constantly phoning", in: [question]) == nil)
    }
}
