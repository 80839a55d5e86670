import ChatCompletions

extension CouncilError {
    /// A chat-completions failure as the council and the judge report it: the same code and
    /// message, so failure records read exactly as when the client threw council errors itself.
    package init(_ error: ChatCompletionsError) {
        let code: Code
        switch error.code {
        case .unreachable: code = .unreachable
        case .rateLimited: code = .rateLimited
        case .timeout: code = .timeout
        case .invalidModelOutput: code = .invalidModelOutput
        case .httpError: code = .httpError
        case .configuration: code = .configuration
        case .budgetExhausted: code = .budgetExhausted
        }
        self.init(code, error.message)
    }
}
