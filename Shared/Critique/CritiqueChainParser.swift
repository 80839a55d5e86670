import Events
import Foundation

/// Reads a critique chain strictly: every line is a step verdict, the answer verdict or the final
/// score, in that order, each score a plain decimal number in [−1, 1]. Blank lines and white space
/// around lines are ignored; keywords are matched without regard to case; a minus may be ASCII `-`
/// or U+2212. Anything else is a ``CritiqueChainParseError`` naming the line. Nothing is ever read
/// as a score of 0 by default (the published code does that; it rewards unparsable output).
public struct CritiqueChainParser: Sendable {
    /// The number of steps the critiqued response has; when set, the chain must judge exactly that
    /// many. Default: nil (any number, at least one).
    public var expectedSteps: Int?

    public init(expectedSteps: Int? = nil) {
        precondition((expectedSteps ?? 1) >= 0, "expectedSteps must not be negative")
        self.expectedSteps = expectedSteps
    }

    public func parse(_ text: String) throws -> CritiqueChain {
        // Split on any line break; "\r\n" is one Character in Swift, so a plain "\n" split would miss it.
        let rawLines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let lines = rawLines.enumerated()
            .map { (number: $0.offset + 1, text: $0.element.trimmingWhitespace()) }
            .filter { !$0.text.isEmpty }
        guard !lines.isEmpty else { throw CritiqueChainParseError(.empty, line: 1, "the critique is empty") }
        // Where a missing part would have stood: the line after the last non-blank one.
        let endLine = lines.last!.number + 1

        var steps: [StepVerdict] = []
        var cursor = 0
        // Steps: "Step k: ... Score: s", k = 1, 2, ...
        while cursor < lines.count, let (index, rest) = Self.stepHeader(lines[cursor].text) {
            let line = lines[cursor]
            guard index == steps.count + 1 else {
                throw CritiqueChainParseError(.stepOutOfOrder, line: line.number,
                                              "found Step \(index) where Step \(steps.count + 1) was due")
            }
            let (critique, score) = try Self.verdict(rest, line: line.number, what: "Step \(index)")
            steps.append(StepVerdict(index: index, critique: critique, score: score))
            cursor += 1
        }
        if let expected = expectedSteps, steps.count != expected {
            throw CritiqueChainParseError(.wrongStepCount, line: cursor < lines.count ? lines[cursor].number : endLine,
                                          "the chain judges \(steps.count) step(s); the response has \(expected)")
        }
        if steps.isEmpty, expectedSteps == nil, cursor < lines.count, Self.keyword("answer:", in: lines[cursor].text) == nil {
            throw CritiqueChainParseError(.unexpectedLine, line: lines[cursor].number,
                                          "expected 'Step 1:', found '\(Self.excerpt(lines[cursor].text))'")
        }

        // Answer: "Answer: ... Score: s"
        guard cursor < lines.count else {
            throw CritiqueChainParseError(.missingAnswer, line: endLine, "the text ends before the 'Answer:' verdict")
        }
        guard let answerRest = Self.keyword("answer:", in: lines[cursor].text) else {
            let code: CritiqueChainParseError.Code = Self.keyword("final score:", in: lines[cursor].text) != nil
                ? .missingAnswer : .unexpectedLine
            throw CritiqueChainParseError(code, line: lines[cursor].number,
                                          "expected 'Step \(steps.count + 1):' or 'Answer:', found '\(Self.excerpt(lines[cursor].text))'")
        }
        let (answerCritique, answerScore) = try Self.verdict(answerRest, line: lines[cursor].number, what: "the answer")
        cursor += 1

        // "Final score: s", and nothing after it.
        guard cursor < lines.count else {
            throw CritiqueChainParseError(.missingFinalScore, line: endLine, "the text ends before 'Final score:'")
        }
        guard let finalRest = Self.keyword("final score:", in: lines[cursor].text) else {
            throw CritiqueChainParseError(.unexpectedLine, line: lines[cursor].number,
                                          "expected 'Final score:', found '\(Self.excerpt(lines[cursor].text))'")
        }
        let finalScore = try Self.score(finalRest.trimmingWhitespace(), line: lines[cursor].number, what: "the final score")
        cursor += 1
        if cursor < lines.count {
            throw CritiqueChainParseError(.trailingText, line: lines[cursor].number,
                                          "text after the final score: '\(Self.excerpt(lines[cursor].text))'")
        }
        return CritiqueChain(stepVerdicts: steps, answerVerdict: AnswerVerdict(critique: answerCritique, score: answerScore),
                             finalScore: finalScore)
    }

    // MARK: - Pieces

    /// "Step 12: rest" → (12, "rest"); nil when the line is not a step header.
    static func stepHeader(_ line: Substring) -> (Int, Substring)? {
        guard let afterKeyword = keyword("step", in: line), afterKeyword.first?.isWhitespace == true else { return nil }
        let rest = afterKeyword.trimmingWhitespace()
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 6, let index = Int(digits) else { return nil }
        let afterDigits = rest.dropFirst(digits.count)
        guard afterDigits.first == ":" else { return nil }
        return (index, afterDigits.dropFirst())
    }

    /// The rest of `line` after `keyword` (matched case-insensitively at the start), or nil.
    static func keyword(_ keyword: String, in line: Substring) -> Substring? {
        guard line.count >= keyword.count,
              line.prefix(keyword.count).lowercased() == keyword else { return nil }
        return line.dropFirst(keyword.count)
    }

    /// "critique Score: s" → (critique, s). The last " Score:" of the line is the score, so a
    /// critique may mention the word.
    static func verdict(_ rest: Substring, line: Int, what: String) throws -> (String, Double) {
        let lowered = rest.lowercased()
        guard let marker = lowered.range(of: "score:", options: .backwards) else {
            throw CritiqueChainParseError(.missingScore, line: line, "\(what) has no 'Score:'")
        }
        let offset = lowered.distance(from: lowered.startIndex, to: marker.lowerBound)
        let critique = rest.prefix(offset).trimmingWhitespace()
        let scoreText = rest.dropFirst(offset + "score:".count).trimmingWhitespace()
        guard !critique.isEmpty else {
            throw CritiqueChainParseError(.emptyCritique, line: line, "\(what) has a score but no critique")
        }
        return (String(critique), try score(scoreText, line: line, what: what))
    }

    /// A plain decimal in [−1, 1]: optional sign, digits, optional fraction. No exponent, no
    /// percent, no "n/a".
    static func score(_ text: Substring, line: Int, what: String) throws -> Double {
        var body = Substring(text.replacingOccurrences(of: "\u{2212}", with: "-"))
        var negative = false
        if body.first == "-" || body.first == "+" { negative = body.first == "-"; body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let wellFormed = !body.isEmpty && parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
            && (parts.count == 1 ? !parts[0].isEmpty : !(parts[0].isEmpty && parts[1].isEmpty))
        guard wellFormed, let magnitude = Double(body) else {
            throw CritiqueChainParseError(.invalidScore, line: line, "\(what): '\(excerpt(text))' is not a number")
        }
        let value = negative ? -magnitude : magnitude
        guard (-1.0...1.0).contains(value) else {
            throw CritiqueChainParseError(.scoreOutOfRange, line: line, "\(what): \(excerpt(text)) is outside [-1, 1]")
        }
        return value == 0 ? 0 : value
    }

    static func excerpt(_ text: Substring) -> String {
        text.count > 60 ? String(text.prefix(60)) + "..." : String(text)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        while let last = result.last, last.isWhitespace { result = result.dropLast() }
        return result
    }
}
