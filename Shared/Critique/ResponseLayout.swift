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
            switch answer == nil ? marker(line) : nil {
            case let .answer(rest):
                flush()
                answer = ""
                current = rest
            case let .step(k, rest):
                flush()
                guard k == steps.count + 1 else { return nil }
                current = rest
            case nil:
                if current != nil { current! += " " + line }
            }
        }
        flush()
        return (steps, answer ?? "")
    }

    /// A line's part marker: "Step k:" or "Answer:" at its start, case-insensitive.
    enum Marker: Equatable {
        case step(Int, String)
        case answer(String)
    }

    static func marker(_ line: String) -> Marker? {
        let lower = line.lowercased()
        if lower.hasPrefix("answer:") { return .answer(String(line.dropFirst(7))) }
        if lower.hasPrefix("step "), let colon = line.firstIndex(of: ":"),
           let k = Int(line[line.index(line.startIndex, offsetBy: 5)..<colon].trimmingCharacters(in: .whitespaces)) {
            return .step(k, String(line[line.index(after: colon)...]))
        }
        return nil
    }

    /// Which part each generated token belongs to, read from the tokens' bytes as ``parse(_:)``
    /// reads the text: parts 0..<steps are the steps, part `steps` the answer; a token belongs to
    /// the part of the line its first byte is on, and text before the first marker to part 0.
    /// Nil when the step numbers do not run 1, 2, ... . The advantage estimators use it to give
    /// each token its part's score.
    public static func tokenParts(tokenBytes: [[UInt8]]) -> (parts: [Int], steps: Int)? {
        let bytes = tokenBytes.flatMap { $0 }
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
        var lineParts: [Int] = []
        lineParts.reserveCapacity(lines.count)
        var steps = 0, inAnswer = false, part = 0
        for line in lines {
            switch inAnswer ? nil : marker(line) {
            case .answer:
                inAnswer = true
                part = steps
            case let .step(k, _):
                guard k == steps + 1 else { return nil }
                steps += 1
                part = steps - 1
            case nil:
                break
            }
            lineParts.append(part)
        }
        var parts: [Int] = []
        parts.reserveCapacity(tokenBytes.count)
        var line = 0
        for token in tokenBytes {
            parts.append(lineParts[min(line, lineParts.count - 1)])
            line += token.filter { $0 == 0x0A }.count
        }
        return (parts, steps)
    }

    private static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
