import Foundation

/// The policy's response layout (DESIGN §6): "Step 1: ...", ..., "Step N: ...", then
/// "Answer: ...", one part per line.
public enum ResponseLayout {
    /// The response as one text.
    public static func text(steps: [String], answer: String) -> String {
        lines(steps: steps, answer: answer).joined(separator: "\n")
    }

    /// `["Step 1: ...", ..., "Answer: ..."]`, as `responses.steps` stores it.
    public static func lines(steps: [String], answer: String) -> [String] {
        steps.enumerated().map { "Step \($0.offset + 1): \(Self.oneLine($0.element))" } + ["Answer: \(Self.oneLine(answer))"]
    }

    /// Splits a response at its "Step k:" and "Answer:" markers (at line starts; case-insensitive).
    /// Text before the first marker is dropped; a response without "Answer:" has an empty answer.
    /// Returns nil when the step numbers do not run 1, 2, ... .
    public static func parse(_ text: String) -> (steps: [String], answer: String)? {
        var steps: [String] = []
        var answer: String?
        var current: String?
        func flush() {
            guard let c = current else { return }
            let t = c.trimmingCharacters(in: .whitespaces)
            if answer == nil { steps.append(t) } else { answer = t }
        }
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let lower = line.lowercased()
            if answer == nil, lower.hasPrefix("answer:") {
                flush()
                answer = ""
                current = String(line.dropFirst(7))
            } else if answer == nil, lower.hasPrefix("step "), let colon = line.firstIndex(of: ":"),
                      let k = Int(line[line.index(line.startIndex, offsetBy: 5)..<colon].trimmingCharacters(in: .whitespaces)) {
                flush()
                guard k == steps.count + 1 else { return nil }
                current = String(line[line.index(after: colon)...])
            } else if current != nil {
                current! += " " + line
            }
        }
        flush()
        return (steps, answer ?? "")
    }

    private static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
