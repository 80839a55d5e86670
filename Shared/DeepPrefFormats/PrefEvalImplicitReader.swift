import ChatCompletions
import Events
import Foundation

/// Reads PrefEval implicit-preference files (a JSON array per topic, or JSON Lines).
///
/// Every record needs `preference` and `question` (non-empty strings) and a non-empty
/// `conversation`; `explanation` is optional. The conversation may be:
/// - choice-based: `{"query", "assistant_options", "user_selection", "assistant_acknowledgment"}`
///   (with `implicit_query`, `options` and `aligned_op` beside it) → user, assistant, user, assistant;
/// - persona-driven: `{"0": {"user", "assistant"}, "1": ...}` (with `persona` beside it) → turns in
///   numeric key order;
/// - a list of `{"role", "content"}` messages or of `{"user", "assistant"}` turns.
/// Other keys (`fix`, ...) are ignored. The topic is the file name without `.json`/`.jsonl`
/// unless given. Records that do not fit are reported as ``RecordProblem``s with their line.
public enum PrefEvalImplicitReader {
    public static func read(_ url: URL, topic: String? = nil) -> RecordBatch<PrefEvalImplicitPair> {
        let name = topic ?? url.deletingPathExtension().lastPathComponent
        return JSONRecordReader.read(url) { try pair($0.object, topic: name, position: $0.position) }
    }

    /// One record; `position` is its index in the file (PrefEval aligns its files by position).
    public static func pair(_ object: [String: Any], topic: String, position: Int) throws -> PrefEvalImplicitPair {
        let check = JSONFieldCheck()
        let preference = check.string(object, "preference", at: "$")
        let question = check.string(object, "question", at: "$")
        let explanation = check.optionalString(object, "explanation", at: "$") ?? ""
        var form = PrefEvalImplicitPair.Form.conversation
        var messages: [ChatMessage] = []
        switch object["conversation"] {
        case let fields as [String: Any] where fields["user_selection"] != nil || fields["assistant_options"] != nil:
            form = .choiceBased
            for (key, role) in [("query", "user"), ("assistant_options", "assistant"), ("user_selection", "user"),
                                ("assistant_acknowledgment", "assistant")] {
                if let text = check.string(fields, key, at: "$.conversation") { messages.append(ChatMessage(role: role, content: text)) }
            }
        case let fields as [String: Any]:
            form = .personaDriven
            let keys = fields.keys.sorted { (Int($0) ?? Int.max, $0) < (Int($1) ?? Int.max, $1) }
            for key in keys {
                guard let turn = fields[key] as? [String: Any] else { check.problem("$.conversation.\(key) must be an object"); continue }
                messages += turnMessages(turn, at: "$.conversation.\(key)", check)
            }
        case let list as [Any]:
            for (i, item) in list.enumerated() {
                guard let turn = item as? [String: Any] else { check.problem("$.conversation[\(i)] must be an object"); continue }
                if turn["role"] != nil {
                    let role = check.string(turn, "role", at: "$.conversation[\(i)]")
                    let content = check.string(turn, "content", at: "$.conversation[\(i)]", allowEmpty: true)
                    if let role, let content { messages.append(ChatMessage(role: role, content: content)) }
                } else {
                    messages += turnMessages(turn, at: "$.conversation[\(i)]", check)
                }
            }
        default:
            check.problem("$.conversation is missing (an object or a list of turns is required)")
        }
        if check.problems.isEmpty && messages.isEmpty { check.problem("$.conversation is empty") }
        var options: [String] = []
        if form == .choiceBased, let list = object["options"] {
            guard let strings = list as? [String] else { throw SchemaViolation(["$.options must be a list of strings"]) }
            options = strings
        }
        guard check.problems.isEmpty, let preference, let question else { throw SchemaViolation(check.problems) }
        let queryID = "prefeval-\(form.rawValue)-\(topic)-\(position)"
        let query = QuerySubmitted(queryID: queryID,
                                   profile: UserProfile(profileID: "prefeval-\(topic)-\(position)", statedPreference: preference),
                                   question: question, topic: topic)
        return PrefEvalImplicitPair(
            query: query, form: form, preference: preference, explanation: explanation, conversation: messages,
            implicitQuery: form == .choiceBased ? object["implicit_query"] as? String : nil, options: options,
            alignedOption: form == .choiceBased ? object["aligned_op"] as? String : nil,
            persona: form == .personaDriven ? object["persona"] as? String : nil)
    }

    private static func turnMessages(_ turn: [String: Any], at path: String, _ check: JSONFieldCheck) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        if let user = check.string(turn, "user", at: path) { messages.append(.user(user)) }
        if turn["assistant"] != nil, let assistant = check.string(turn, "assistant", at: path, allowEmpty: true) {
            messages.append(.assistant(assistant))
        }
        return messages
    }
}
