import ChatCompletions
import DeepPref
import Events
import Foundation

/// The Cognitive Council played by an LLM behind an OpenAI-compatible chat-completions endpoint:
/// one request per persona (sent concurrently), then one to the moderator, every reply validated
/// by ``LLMCouncilSchema`` (and constrained by its JSON schemas where the endpoint takes them).
/// Per query: `personas.count + 1` completions when all goes well, and never more than the
/// configuration's per-query budget (``RequestBudget``).
public struct LLMCouncil: FailureReportingCouncil {
    public let client: ChatCompletionsClient
    public let personas: [CouncilPersona]
    /// Dimension names suggested to the models (the knowledge pack's, when known).
    public let dimensions: [String]
    /// Persona requests of one query sent at the same time. Default: 6 (all personas at once).
    public let personaConcurrency: Int
    /// How much each reply is asked for (schemas and prompts). Default: `.standard`.
    public let outputLimits: LLMCouncilOutputLimits

    public var name: String { "llm:\(client.configuration.model)" }

    public init(client: ChatCompletionsClient, personas: [CouncilPersona] = CouncilPersona.standard,
                dimensions: [String] = CouncilPersona.suggestedDimensions, personaConcurrency: Int = 6,
                outputLimits: LLMCouncilOutputLimits = .standard) {
        precondition(!personas.isEmpty, "the council needs at least one persona")
        precondition(personaConcurrency >= 1, "personaConcurrency must be at least 1")
        self.client = client
        self.personas = personas
        self.dimensions = dimensions
        self.personaConcurrency = personaConcurrency
        self.outputLimits = outputLimits
    }

    public init(configuration: LLMEndpointConfiguration, personas: [CouncilPersona] = CouncilPersona.standard,
                dimensions: [String] = CouncilPersona.suggestedDimensions, personaConcurrency: Int = 6,
                outputLimits: LLMCouncilOutputLimits = .standard) {
        self.init(client: ChatCompletionsClient(configuration: configuration), personas: personas, dimensions: dimensions,
                  personaConcurrency: personaConcurrency, outputLimits: outputLimits)
    }

    public func annotate(_ query: QuerySubmitted) async throws -> CouncilAnnotation {
        switch await annotateReportingFailure(query) {
        case .success(let annotation): return annotation
        case .failure(let failure): throw failure.error
        }
    }

    public func annotateReportingFailure(_ query: QuerySubmitted) async -> Result<CouncilAnnotation, CouncilFailure> {
        func failure(_ stage: String, _ error: CouncilError, attempts: Int, raw: String? = nil) -> Result<CouncilAnnotation, CouncilFailure> {
            .failure(CouncilFailure(queryID: query.queryID, backend: name, stage: stage, code: error.code,
                                    reason: error.message, attempts: attempts, lastRawOutput: raw))
        }
        if query.question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return failure("input", CouncilError(.invalidInput, "the question is empty"), attempts: 0)
        }
        do { _ = try client.apiKey() } catch let error as ChatCompletionsError {
            return failure("configuration", CouncilError(error), attempts: 0)
        } catch {
            return failure("configuration", CouncilError(.configuration, "\(error)"), attempts: 0)
        }

        // One budget for all the query's requests: a query that keeps failing ends with
        // .budgetExhausted instead of running on (CDRA_LLM_QUERY_MAX_ATTEMPTS, CDRA_LLM_QUERY_TIMEOUT).
        let budget = RequestBudget(client.configuration)

        // MARK: Personas, concurrently (bounded), results kept in persona order.
        var replies = [LLMCouncilSchema.PersonaReply?](repeating: nil, count: personas.count)
        var attempts = 0
        var firstFailure: (stage: String, failure: ChatCompletionsClient.StructuredOutputFailure)? = nil
        await withTaskGroup(of: (Int, Result<(LLMCouncilSchema.PersonaReply, Int), ChatCompletionsClient.StructuredOutputFailure>).self) { group in
            var next = 0
            func launch(_ i: Int) {
                let persona = personas[i]
                let messages: [ChatMessage] = [
                    .system(LLMCouncilPrompts.personaSystem(persona, dimensions: dimensions, limits: outputLimits)),
                    .user(LLMCouncilPrompts.personaUser(query)),
                ]
                group.addTask {
                    do {
                        let result = try await client.requestValidated(messages, format: LLMCouncilSchema.personaOutput(outputLimits),
                                                                       budget: budget) {
                            LLMCouncilSchema.validatePersona($0, persona: persona.name, query: query)
                        }
                        return (i, .success((result.value, result.httpAttempts)))
                    } catch let failure as ChatCompletionsClient.StructuredOutputFailure {
                        return (i, .failure(failure))
                    } catch {
                        return (i, .failure(.init(error: ChatCompletionsError(.unreachable, "\(error)"), httpAttempts: 0, asks: 0, lastRawOutput: nil)))
                    }
                }
            }
            while next < min(personas.count, personaConcurrency) { launch(next); next += 1 }
            for await (i, result) in group {
                switch result {
                case .success(let (reply, used)):
                    replies[i] = reply
                    attempts += used
                case .failure(let failure):
                    attempts += failure.httpAttempts
                    if firstFailure == nil {
                        firstFailure = ("persona:\(personas[i].name)", failure)
                        group.cancelAll()
                    }
                }
                if firstFailure == nil && next < personas.count { launch(next); next += 1 }
            }
        }
        if let (stage, f) = firstFailure {
            return failure(stage, CouncilError(f.error), attempts: attempts, raw: f.lastRawOutput)
        }
        let critiques = replies.compactMap { $0 }.flatMap(\.critiques)

        // MARK: Moderator
        let moderatorMessages: [ChatMessage]
        do {
            moderatorMessages = [
                .system(LLMCouncilPrompts.moderatorSystem(dimensions: dimensions, limits: outputLimits)),
                .user(try LLMCouncilPrompts.moderatorUser(query, critiques: critiques)),
            ]
        } catch {
            return failure("moderator", CouncilError(.invalidInput, "cannot encode the critiques: \(error)"), attempts: attempts)
        }
        let moderator: LLMCouncilSchema.ModeratorReply
        do {
            let result = try await client.requestValidated(moderatorMessages, format: LLMCouncilSchema.moderatorOutput(outputLimits),
                                                           budget: budget) {
                LLMCouncilSchema.validateModerator($0, query: query)
            }
            moderator = result.value
            attempts += result.httpAttempts
        } catch let f as ChatCompletionsClient.StructuredOutputFailure {
            return failure("moderator", CouncilError(f.error), attempts: attempts + f.httpAttempts, raw: f.lastRawOutput)
        } catch {
            return failure("moderator", CouncilError(.unreachable, "\(error)"), attempts: attempts)
        }

        let annotation = CouncilAnnotation(
            queryID: query.queryID, backend: name, inferredPreferences: moderator.inferredPreferences,
            personaCritiques: critiques, thoughtTree: moderator.thoughtTree, reasoningChain: moderator.reasoningChain,
            alignedAnswer: moderator.alignedAnswer, superficialAnswer: moderator.superficialAnswer, rubric: moderator.rubric)
        let problems = annotation.validationProblems()
        if !problems.isEmpty {
            return failure("council", CouncilError(.invalidModelOutput, problems.joined(separator: "; ")), attempts: attempts)
        }
        return .success(annotation)
    }
}
