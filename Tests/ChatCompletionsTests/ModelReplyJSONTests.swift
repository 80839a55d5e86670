import Foundation
import Testing
import ChatCompletions

@Suite struct ModelReplyJSONTests {
    @Test func fencesAndSurroundingProseAreRemoved() throws {
        let fenced = "Here you go:\n```json\n{\"a\": 1, \"b\": \"}{\"}\n```\nAnything else?"
        #expect(try ModelReplyJSON.extractObject(from: fenced)["b"] as? String == "}{")
        let prose = "The answer is {\"a\": {\"nested\": [1, 2]}} as requested."
        #expect((try ModelReplyJSON.extractObject(from: prose)["a"] as? [String: Any])?["nested"] != nil)
        let escaped = #"{"q": "she said \"hi {\" there"}"#
        #expect(try ModelReplyJSON.extractObject(from: escaped)["q"] as? String == #"she said "hi {" there"#)
    }

    @Test func textWithoutAnObjectIsRejectedWithAReason() {
        for text in ["", "no json here", "{\"a\": 1", "[1, 2]", "{\"a\": tru}"] {
            #expect(throws: ModelReplyJSON.ExtractionError.self) { try ModelReplyJSON.extractObject(from: text) }
        }
    }
}
