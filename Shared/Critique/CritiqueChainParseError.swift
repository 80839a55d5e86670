/// Why a generated critique chain could not be read, and where: the 1-based line of the text and
/// what was expected there. A chain that does not parse is never scored (the critic samples it
/// again, and in the end reports it as `malformed` with the raw text).
public struct CritiqueChainParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case empty              // no text at all
        case unexpectedLine     // a line that is none of "Step k:", "Answer:", "Final score:"
        case stepOutOfOrder     // "Step k:" where step k−1 or k+1 was due
        case wrongStepCount     // a different number of steps than the response has
        case emptyCritique      // a verdict with no words before its score
        case missingScore       // a verdict without " Score: s"
        case invalidScore       // a score that is not a plain decimal number
        case scoreOutOfRange    // a score outside [−1, 1]
        case missingAnswer      // no "Answer:" verdict after the steps
        case missingFinalScore  // the text ends before "Final score:"
        case trailingText       // anything after the final score
    }

    public var code: Code
    /// 1-based line number in the generated text (the last line + 1 when text is missing at the end).
    public var line: Int
    /// What was found or expected, with a short excerpt of the line.
    public var message: String

    public init(_ code: Code, line: Int, _ message: String) {
        self.code = code
        self.line = line
        self.message = message
    }

    public var description: String { "\(code.rawValue) at line \(line): \(message)" }
}
