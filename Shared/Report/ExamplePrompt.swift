/// One test query shown with every method's response to it and the critique of each.
public struct ExamplePrompt: Sendable, Equatable {
    public let queryID: String
    public let question: String
    public let topic: String
    public let statedPreference: String?
    public let riskTolerance: String?
    public let hiddenPreferences: [String]
    /// By the checkpoint that wrote the response.
    public let responses: [String: Response]

    public init(queryID: String, question: String, topic: String, statedPreference: String?, riskTolerance: String?,
                hiddenPreferences: [String], responses: [String: Response]) {
        self.queryID = queryID
        self.question = question
        self.topic = topic
        self.statedPreference = statedPreference
        self.riskTolerance = riskTolerance
        self.hiddenPreferences = hiddenPreferences
        self.responses = responses
    }

    /// A checkpoint's response in its evaluation, with the oracle's checks and the critic's critique.
    public struct Response: Sendable, Equatable {
        public let checkpointID: String
        public let text: String
        public let formatValid: Bool
        /// The oracle's verdict as stored (jsonb text); its yes/no checks are shown.
        public let verdictJSON: String
        public let oracleScore: Double
        public let hiddenRecall: Double?
        public let prmScore: Double?
        public let win: Double?
        /// Nil when no critique was asked for (the format gate rejected the response).
        public let critique: Critique?

        public init(checkpointID: String, text: String, formatValid: Bool, verdictJSON: String, oracleScore: Double,
                    hiddenRecall: Double?, prmScore: Double?, win: Double?, critique: Critique?) {
            self.checkpointID = checkpointID
            self.text = text
            self.formatValid = formatValid
            self.verdictJSON = verdictJSON
            self.oracleScore = oracleScore
            self.hiddenRecall = hiddenRecall
            self.prmScore = prmScore
            self.win = win
            self.critique = critique
        }
    }

    /// The critic's reply: its chain of step verdicts and final score, or why there is none.
    public struct Critique: Sendable, Equatable {
        /// `ok`, `malformed` or `failed`; nil when the request id has no stored reply.
        public let status: String?
        public let steps: [Step]
        public let finalScore: Double?
        public let error: String?

        public init(status: String?, steps: [Step], finalScore: Double?, error: String?) {
            self.status = status
            self.steps = steps
            self.finalScore = finalScore
            self.error = error
        }

        /// One verdict of the chain: `Step 1` … `Answer`.
        public struct Step: Sendable, Equatable {
            public let label: String
            public let critique: String
            public let score: Double

            public init(label: String, critique: String, score: Double) {
                self.label = label
                self.critique = critique
                self.score = score
            }
        }
    }
}
