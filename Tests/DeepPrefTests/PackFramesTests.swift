import DeepPref
import DeepPrefTesting
import Testing

/// The builder's frames are taken out of what the situated reading reads; a person's own words never are.
@Suite struct PackFramesTests {
    let frames = PackFrames(pack: Fixture.pack)

    @Test func everyBenchmarkQuestionLeavesOnlyItsCues() throws {
        for pair in Fixture.benchmark.split("test") + Fixture.benchmark.perturbedTest {
            let own = frames.readable(pair.question)
            // what is left is the cue sentences and clauses, in the question's order, nothing else
            var rest = own
            for cue in pair.cues {
                let c = cue.hasSuffix("?") ? String(cue.dropLast()) : cue
                #expect(rest.contains(c), "\(pair.id): cue \"\(cue)\" lost from \"\(own)\"")
                rest = rest.replacingOccurrences(of: c, with: "")
            }
            #expect(rest.allSatisfy { " ?.!,".contains($0) }, "\(pair.id): \"\(rest)\" is left besides the cues")
        }
    }

    @Test func aRequestKeepsTheClauseThatFollowsIt() {
        let topic = Fixture.pack.topics[0]
        let request = topic.requests[0].replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
        #expect(frames.readable("\(request) without my boss finding out?") == "without my boss finding out?")
        #expect(frames.readable("\(request)?") == "")
    }

    @Test func ownWordsAreKeptVerbatim() {
        let texts = [
            "My brother asked to borrow £2,000. How do I say no without a family war?",
            "I need to write a complaint — my landlord ignores me!! What now",
            "",
        ]
        for t in texts {
            #expect(frames.readable(t) == PackFrames.sentences(of: t).joined(separator: " "))
        }
        #expect(frames.readable("Safe to say my friends are tired of hearing me talk about it. I'm scared.") == "I'm scared.")
    }

    @Test func aContextIsAFrameOnlyWithItsTopicsFillers() throws {
        let topic = try #require(Fixture.pack.topics.first { t in t.contexts.contains { $0.contains("{b}") } && t.fillers["b"] != nil })
        let context = try #require(topic.contexts.first { $0.contains("{") })
        var builder = context, own = context
        for (slot, values) in topic.fillers {
            builder = builder.replacingOccurrences(of: "{\(slot)}", with: values[0])
            own = own.replacingOccurrences(of: "{\(slot)}", with: "the man who sold my grandmother a haunted piano")
        }
        #expect(frames.readable(builder + " I'm worried.") == "I'm worried.")
        #expect(frames.readable(own + " I'm worried.") == own + " I'm worried.")
    }
}
