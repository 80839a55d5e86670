import ChatCompletions
import Events
import Foundation

/// One pair of PrefEval's implicit-preference split: the preference is never stated outright but
/// revealed in an earlier conversation, which is kept alongside the query.
public struct PrefEvalImplicitPair: Sendable, Equatable {
    public enum Form: String, Sendable, Equatable {
        /// `implicit_preference/choice-based`: the user picks one of the assistant's options.
        case choiceBased = "choice"
        /// `implicit_preference/persona-driven`: the preference surfaces in passing in a chat.
        case personaDriven = "persona"
        /// A list of `{"role", "content"}` messages (or `{"user", "assistant"}` turns).
        case conversation = "conversation"
    }

    /// `query_id` `prefeval-<form>-<topic>-<position>`; the profile's stated preference is the
    /// PrefEval preference (ground truth; in these files the user only reveals it in the conversation).
    public var query: QuerySubmitted
    public var form: Form
    public var preference: String
    /// PrefEval's note on why a generic answer would violate the preference ("" when absent).
    public var explanation: String
    /// The earlier conversation, in order.
    public var conversation: [ChatMessage]
    /// Choice-based only: the question the options answer, the options, and the one that fits.
    public var implicitQuery: String?
    public var options: [String]
    public var alignedOption: String?
    /// Persona-driven only: who the user is.
    public var persona: String?

    public init(query: QuerySubmitted, form: Form, preference: String, explanation: String, conversation: [ChatMessage],
                implicitQuery: String? = nil, options: [String] = [], alignedOption: String? = nil, persona: String? = nil) {
        self.query = query
        self.form = form
        self.preference = preference
        self.explanation = explanation
        self.conversation = conversation
        self.implicitQuery = implicitQuery
        self.options = options
        self.alignedOption = alignedOption
        self.persona = persona
    }
}
