/// One line naming the field path of a decoding failure (EventCodec keeps its own version
/// internal to Events).
enum DecodingErrorText {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing required field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context): return "wrong type at '\(path(context.codingPath))'"
        case .valueNotFound(_, let context): return "null at required field '\(path(context.codingPath))'"
        case .dataCorrupted(let context): return "invalid value at '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
