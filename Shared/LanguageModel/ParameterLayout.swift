/// Names, shapes and offsets of the model's parameter tensors inside its single flat buffer.
///
/// The order and names are those of llm.c; checkpoints use the same names (Docs/models.md).
public struct ParameterLayout: Sendable {
    /// One named parameter tensor.
    public struct Entry: Sendable, Equatable {
        /// Checkpoint name, e.g. `qkvw`.
        public let name: String
        /// Shape, outermost first.
        public let shape: [Int]
        /// Element offset into the flat buffer.
        public let offset: Int
        /// Whether AdamW applies weight decay (matrices yes; biases and norm gains no).
        public let decays: Bool
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
        /// Element range in the flat buffer.
        public var range: Range<Int> { offset..<(offset + count) }
    }

    /// Entries in buffer order.
    public let entries: [Entry]
    /// Total number of parameters.
    public let totalCount: Int

    public init(_ c: TransformerConfig) {
        let V = c.vocabularySize, T = c.contextLength, L = c.layerCount, C = c.channelCount
        let specs: [(String, [Int], Bool)] = [
            ("wte", [V, C], true),            // token embedding, also the LM head
            ("wpe", [T, C], true),            // position embedding
            ("ln1w", [L, C], false),
            ("ln1b", [L, C], false),
            ("qkvw", [L, 3 * C, C], true),
            ("qkvb", [L, 3 * C], false),
            ("attprojw", [L, C, C], true),
            ("attprojb", [L, C], false),
            ("ln2w", [L, C], false),
            ("ln2b", [L, C], false),
            ("fcw", [L, 4 * C, C], true),
            ("fcb", [L, 4 * C], false),
            ("fcprojw", [L, C, 4 * C], true),
            ("fcprojb", [L, C], false),
            ("lnfw", [C], false),
            ("lnfb", [C], false),
        ]
        var offset = 0
        var entries: [Entry] = []
        for (name, shape, decays) in specs {
            entries.append(Entry(name: name, shape: shape, offset: offset, decays: decays))
            offset += shape.reduce(1, *)
        }
        self.entries = entries
        self.totalCount = offset
    }

    /// The entry called `name`.
    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }
}
