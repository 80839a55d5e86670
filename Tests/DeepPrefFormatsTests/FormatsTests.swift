import ChatCompletions
import ChatCompletionsTesting
import DeepPrefFormats
import DeepPrefTesting
import Events
import Foundation
import Testing

/// Same JSON: compared as canonical text (sorted keys), since NSDictionary equality does not
/// look inside nested Swift arrays on Linux.
func jsonEqual(_ a: [String: Any], _ b: [String: Any]) -> Bool {
    jsonText(a) == jsonText(b)
}

@Suite struct DeepPrefRawRecordTests {
    static let rawText = """
        {"initial_question": "How can I let my family know where I am without constantly calling?",
         "user_profile": "Travels alone for work; values independence.",
         "thought_tree": {
           "0": {"thought": "Keep family informed.", "reasoning": "", "score": 0.8, "children": ["1", "2"]},
           "1": {"thought": "Share location 24/7.", "reasoning": "Intrusive.", "score": -0.5, "children": []},
           "2": {"thought": "Use check-ins.", "reasoning": "Respects autonomy.", "score": 0.8, "children": ["3"], "persona": "Psychologist"},
           "3": {"thought": "Automatic arrival notices.", "reasoning": "Low friction.", "score": 0.9, "children": []}
         }}
        """

    static func rawObject() -> [String: Any] {
        try! JSONSerialization.jsonObject(with: Data(rawText.utf8)) as! [String: Any]
    }

    @Test func rawToOursToRawGivesTheSameJSON() throws {
        let record = try DeepPrefRawRecord(json: Self.rawObject())
        let (query, annotation) = record.toQueryAndAnnotation()

        #expect(query.question.hasPrefix("How can I let my family"))
        #expect(query.profile.statedPreference == "Travels alone for work; values independence.")
        #expect(query.queryID == record.derivedID)
        let nodes = Dictionary(uniqueKeysWithValues: annotation.thoughtTree.map { ($0.nodeID, $0) })
        #expect(nodes["3"]?.parentID == "2")
        #expect(nodes["2"]?.persona == "Psychologist")
        #expect(nodes["1"]?.pruned == true)
        #expect(annotation.reasoningChain.map(\.text) == ["Keep family informed.", "Use check-ins.", "Automatic arrival notices."])
        #expect(annotation.reasoningChain.map(\.stage) == ["surface_request", "implicit_preferences", "defensive_strategy"])

        let back = DeepPrefRawRecord(query: query, annotation: annotation).jsonObject()
        #expect(jsonEqual(back, Self.rawObject()), "\(back)")
    }

    @Test func oursToRawToOursKeepsWhatTheRawFormatCarries() throws {
        let query = QuerySubmitted(queryID: "q-42", profile: UserProfile(profileID: "u-7", statedPreference: "I prefer quiet places.",
                                                                         riskTolerance: "low"),
                                   question: "Where should I stay in Las Vegas?")
        let tree = [
            ThoughtNode(nodeID: "0", parentID: nil, persona: nil, thought: "Find a hotel.", reasoning: "Surface.", score: 0.6, children: ["1", "2"], pruned: false),
            ThoughtNode(nodeID: "1", parentID: "0", persona: "Pragmatist", thought: "Strip casinos.", reasoning: "Noisy.", score: -0.4, children: [], pruned: true),
            ThoughtNode(nodeID: "2", parentID: "0", persona: "Psychologist", thought: "Non-gaming resort.", reasoning: "Quiet.", score: 0.9, children: [], pruned: false),
        ]
        let chain = [
            ReasoningStep(index: 1, stage: "surface_request", text: "Find a hotel.", critique: "Surface.", score: 0.6),
            ReasoningStep(index: 2, stage: "latent_risks", text: "Non-gaming resort.", critique: "Quiet.", score: 0.9),
        ]
        let annotation = CouncilAnnotation(queryID: "q-42", backend: "llm:x", inferredPreferences: [], personaCritiques: [],
                                           thoughtTree: tree, reasoningChain: chain, alignedAnswer: "a", superficialAnswer: "s", rubric: [])

        let raw = DeepPrefRawRecord(query: query, annotation: annotation)
        let text = try JSONSerialization.data(withJSONObject: raw.jsonObject())
        let reread = try DeepPrefRawRecord(json: try JSONSerialization.jsonObject(with: text) as! [String: Any])
        let (query2, annotation2) = reread.toQueryAndAnnotation()

        #expect(query2 == query)
        #expect(annotation2.thoughtTree == tree)
        #expect(annotation2.reasoningChain == chain)
        #expect(annotation2.queryID == "q-42")
    }

    @Test func integerIdsAreAcceptedAndBrokenTreesRejected() throws {
        var object = Self.rawObject()
        object["thought_tree"] = ["0": ["thought": "t", "reasoning": "r", "score": 1, "children": [1]],
                                  "1": ["thought": "u", "reasoning": "r", "score": 0.5, "children": [Any]()]]
        object["id"] = 17
        let record = try DeepPrefRawRecord(json: object)
        #expect(record.thoughtTree["0"]?.children == ["1"])
        #expect(record.toQueryAndAnnotation().query.queryID == "17")

        object["thought_tree"] = ["0": ["thought": "t", "reasoning": "r", "score": 0.2, "children": ["5"]]]
        #expect(throws: SchemaViolation.self) { try DeepPrefRawRecord(json: object) }
        object["thought_tree"] = ["1": ["thought": "t", "reasoning": "r", "score": 0.2, "children": [Any]()]]
        #expect(throws: SchemaViolation.self) { try DeepPrefRawRecord(json: object) }
        object["thought_tree"] = ["0": ["thought": "t", "reasoning": "r", "score": 1.7, "children": [Any]()]]
        #expect(throws: SchemaViolation.self) { try DeepPrefRawRecord(json: object) }
    }

    @Test func badRecordsAreReportedWithTheirLineNumbers() throws {
        let good = Self.rawText.replacingOccurrences(of: "\n", with: " ")
        let url = try temporaryFile("raw.jsonl", [
            good,
            "{\"initial_question\": \"x\", \"user_profile\": \"p\"}",
            "",
            "not json at all",
            good.replacingOccurrences(of: "\"score\": 0.9", with: "\"score\": \"high\""),
            good,
        ].joined(separator: "\n"))
        let batch = DeepPrefRawRecord.read(url)
        #expect(batch.records.count == 2)
        #expect(batch.problems.map(\.line) == [4, 2, 5])
        #expect(batch.problems.first { $0.line == 2 }?.reason.contains("thought_tree") == true)
        #expect(batch.problems.first { $0.line == 4 }?.reason.contains("not valid JSON") == true)
        #expect(batch.problems.first { $0.line == 5 }?.reason.contains("score") == true)
        #expect(batch.problems[0].description.hasPrefix(url.path + ":4: "))
    }
}

@Suite struct DeepPrefRewardRecordTests {
    static let record: [String: Any] = [
        "idx": 12,
        "question": "How do I keep my family informed while travelling?",
        "preference": "I value my independence.",
        "process": "Step 1: Identify the wish to keep family informed.\nStep 2: Propose check-ins,\nnot constant tracking.\nStep 3: Offer automatic arrival notices.",
        "label": [["critique": "Correct reading.", "score": 0.7], ["critique": "Respects autonomy.", "score": 0.8],
                  ["critique": "Low friction.", "score": 0.9]],
        "final_score": 0.75,
    ]

    @Test func stepsAreParsedFromTheProcessText() throws {
        #expect(try DeepPrefRewardRecord.parseSteps("Step 1: a\nStep 2. b\n  continued\nstep 3: c") == ["a", "b\ncontinued", "c"])
        #expect(throws: SchemaViolation.self) { try DeepPrefRewardRecord.parseSteps("Step 1: a\nStep 3: b") }
        #expect(throws: SchemaViolation.self) { try DeepPrefRewardRecord.parseSteps("Preamble\nStep 1: a") }
        #expect(throws: SchemaViolation.self) { try DeepPrefRewardRecord.parseSteps("Stepping back: no steps here") }
    }

    @Test func rewardRecordToOursToRewardRecordGivesTheSameJSON() throws {
        let record = try DeepPrefRewardRecord(json: Self.record)
        #expect(record.steps == ["Identify the wish to keep family informed.", "Propose check-ins,\nnot constant tracking.",
                                 "Offer automatic arrival notices."])
        let (query, annotation) = record.toQueryAndAnnotation()
        #expect(query.queryID == "deeppref-rm-12")
        #expect(annotation.reasoningChain.map(\.score) == [0.7, 0.8, 0.9])
        #expect(annotation.reasoningChain[1].critique == "Respects autonomy.")
        #expect(annotation.thoughtTree.first { $0.nodeID == "0" }?.score == 0.75)
        let back = DeepPrefRewardRecord(query: query, annotation: annotation).jsonObject()
        #expect(jsonEqual(back, Self.record), "\(back)")
    }

    @Test func oursToRewardRecordToOursKeepsTheChain() throws {
        let chain = [
            ReasoningStep(index: 1, stage: "surface_request", text: "Read the request.", critique: "Fine.", score: 0.5),
            ReasoningStep(index: 2, stage: "implicit_preferences", text: "Autonomy matters.", critique: "Grounded.", score: 0.8),
            ReasoningStep(index: 3, stage: "latent_risks", text: "Tracking feels intrusive.", critique: "Real.", score: 0.7),
            ReasoningStep(index: 4, stage: "defensive_strategy", text: "Prefer opt-in.", critique: "Balanced.", score: 0.8),
            ReasoningStep(index: 5, stage: "response_plan", text: "Recommend check-ins.", critique: "Actionable.", score: 0.9),
        ]
        let query = QuerySubmitted(queryID: "abc", profile: UserProfile(profileID: "profile-abc", statedPreference: "p"), question: "q?")
        let annotation = CouncilAnnotation(queryID: "abc", backend: "builtin", inferredPreferences: [], personaCritiques: [],
                                           thoughtTree: [], reasoningChain: chain, alignedAnswer: "a", superficialAnswer: "s", rubric: [])
        let record = DeepPrefRewardRecord(query: query, annotation: annotation)
        #expect(record.process.hasPrefix("Step 1: Read the request.\nStep 2: Autonomy matters."))
        #expect(abs(record.finalScore - 0.74) < 1e-9)     // no tree: the mean step score
        let reread = try DeepPrefRewardRecord(json: record.jsonObject())
        let (query2, annotation2) = reread.toQueryAndAnnotation()
        #expect(query2 == query)
        #expect(annotation2.reasoningChain == chain)
    }

    @Test func mismatchedLabelsAndBadScoresAreReportedByLine() throws {
        func line(_ change: (inout [String: Any]) -> Void) -> String {
            var object = Self.record
            change(&object)
            return jsonText(object)
        }
        let url = try temporaryFile("rm.json", "[\n" + [
            line { _ in },
            line { $0["label"] = [["critique": "only one", "score": 0.1]] },
            line { $0["final_score"] = 2 },
            line { $0["process"] = "Step 2: out of order" },
            line { $0["idx"] = "a-13" },
        ].joined(separator: ",\n") + "\n]\n")
        let batch = DeepPrefRewardRecord.read(url)
        #expect(batch.records.map(\.idx) == [.number(12), .text("a-13")])
        #expect(batch.problems.map(\.line) == [3, 4, 5])
        #expect(batch.problems[0].reason.contains("1 entries for 3 steps"))
        #expect(batch.problems[1].reason.contains("final_score"))
        #expect(batch.problems[2].reason.contains("step 2 follows step 0"))
    }
}

@Suite struct JSONRecordReaderTests {
    @Test func arrayElementsKeepTheirLineAndBadOnesAreReported() throws {
        let text = """
            [
              {"a": 1},
              {"b": tru},
              7,
              {"c": "x, y ] }"}
            """
        let batch = JSONRecordReader.read(data: Data(text.utf8), file: "f.json")
        #expect(batch.records.map(\.line) == [2, 5])
        #expect(batch.records.map(\.position) == [0, 3])
        #expect(batch.problems.map(\.line) == [3, 4, 5])
        #expect(batch.problems.last?.reason.contains("not closed") == true)
    }

    @Test func unreadableFilesAreAProblemNotACrash() {
        let batch = JSONRecordReader.read(URL(fileURLWithPath: "/nonexistent/file.jsonl"))
        #expect(batch.records.isEmpty)
        #expect(batch.problems.count == 1 && batch.problems[0].line == 0)
        let binary = JSONRecordReader.read(data: Data([0xFF, 0xFE, 0x00, 0x7B, 0x0A]), file: "bin")
        #expect(binary.records.isEmpty && binary.problems.count == 1)
    }

    static let prefEvalDirectory = ProcessInfo.processInfo.environment["CDRA_PREFEVAL_DIR"]
        ?? "/work/shared/data/prefeval/explicit_preference"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: prefEvalDirectory), "PrefEval data not present"))
    func theRealPrefEvalExplicitFilesReadWithoutProblems() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.prefEvalDirectory).filter { $0.hasSuffix(".json") }
        var records = 0
        for file in files {
            let batch = JSONRecordReader.read(URL(fileURLWithPath: Self.prefEvalDirectory).appendingPathComponent(file))
            #expect(batch.problems.isEmpty, "\(batch.problems)")
            #expect(batch.records.allSatisfy { $0.object["preference"] is String && $0.object["question"] is String })
            #expect(zip(batch.records, batch.records.dropFirst()).allSatisfy { $0.line < $1.line })
            records += batch.records.count
        }
        #expect(files.count == 20)
        #expect(records == 1000)
    }
}

@Suite struct PrefEvalImplicitReaderTests {
    static let choice: [String: Any] = [
        "preference": "I absolutely avoid hotels with a bustling nightlife atmosphere.",
        "question": "Can you suggest some great hotels for my upcoming trip to Las Vegas?",
        "explanation": "Las Vegas is known for its nightlife; suggest quieter hotels.",
        "implicit_query": "What are some good hotels to stay at in Las Vegas?",
        "options": ["A tranquil spa hotel.", "A party hotel."],
        "conversation": [
            "query": "What are some good hotels to stay at in Las Vegas?",
            "assistant_options": "1. A party hotel.\n2. A tranquil spa hotel.",
            "user_selection": "I'll go with the spa hotel; the others seem too lively.",
            "assistant_acknowledgment": "Understood.",
        ],
        "aligned_op": "A tranquil spa hotel.",
    ]

    static let persona: [String: Any] = [
        "preference": "I have a strong aversion to hotels located in high-rise buildings.",
        "question": "What are some of the best hotels for my stay in Tokyo?",
        "explanation": "Tokyo has many high-rise hotels.",
        "fix": "True",
        "persona": "A software engineer at a growing tech startup",
        "conversation": [
            "1": ["user": "I tend to avoid high-rise buildings for accommodations.", "assistant": "Look for boutique hotels."],
            "0": ["user": "Any tips on work-life balance?", "assistant": "Set boundaries."],
            "10": ["user": "Thanks!", "assistant": "You're welcome."],
        ],
    ]

    @Test func choiceBasedAndPersonaDrivenRecordsBecomeQueriesWithTheirConversations() throws {
        let url = try temporaryFile("travel_hotel.json", "[\n" + jsonText(Self.choice) + ",\n" + jsonText(Self.persona) + ",\n"
            + jsonText(["preference": "x", "question": "y"]) + ",\n"
            + jsonText(["preference": "x", "question": "", "conversation": [["role": "user", "content": "hi"]]]) + "\n]")
        let batch = PrefEvalImplicitReader.read(url)

        #expect(batch.records.count == 2)
        let choice = batch.records[0]
        #expect(choice.form == .choiceBased)
        #expect(choice.query.queryID == "prefeval-choice-travel_hotel-0")
        #expect(choice.query.topic == "travel_hotel")
        #expect(choice.query.question == Self.choice["question"] as? String)
        #expect(choice.conversation.map(\.role) == ["user", "assistant", "user", "assistant"])
        #expect(choice.conversation[2].content.contains("spa hotel"))
        #expect(choice.alignedOption == "A tranquil spa hotel.")
        #expect(choice.options.count == 2)

        let persona = batch.records[1]
        #expect(persona.form == .personaDriven)
        #expect(persona.query.queryID == "prefeval-persona-travel_hotel-1")
        #expect(persona.persona == "A software engineer at a growing tech startup")
        #expect(persona.conversation.map(\.content).first == "Any tips on work-life balance?")   // keys in numeric order
        #expect(persona.conversation.count == 6)
        #expect(persona.conversation[4].content == "Thanks!")

        #expect(batch.problems.map(\.line) == [4, 5])
        #expect(batch.problems[0].reason.contains("conversation"))
        #expect(batch.problems[1].reason.contains("question"))
    }
}

@Suite struct EventJSONLinesTests {
    @Test func queriesAndAnnotationsRoundTripAndBadLinesAreReported() throws {
        let queries = [CouncilFixtures.query(id: "a"), CouncilFixtures.query(id: "b")]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jsonl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("queries.jsonl")
        try EventJSONLines.write(queries, to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 2)
        #expect(text.contains("\"query_id\":\"a\"") && text.contains("\"stated_preference\""))
        #expect(EventJSONLines.readQueries(url).records == queries)

        try Data((text + "{\"query_id\": \"c\", \"question\": \"no profile\"}\n"
                  + "{\"query_id\": \"\", \"profile\": {\"profile_id\": \"p\", \"stated_preference\": \"\"}, \"question\": \"q\"}\n").utf8)
            .write(to: url)
        let batch = EventJSONLines.readQueries(url)
        #expect(batch.records == queries)
        #expect(batch.problems.map(\.line) == [3, 4])
        #expect(batch.problems[0].reason.contains("profile"))
        #expect(batch.problems[1].reason.contains("query_id is empty"))

        let annotation = CouncilFixtures.annotation()
        let annotations = directory.appendingPathComponent("annotations.jsonl")
        try EventJSONLines.write([annotation], to: annotations)
        #expect(EventJSONLines.readAnnotations(annotations).records == [annotation])
    }
}
