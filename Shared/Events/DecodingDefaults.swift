extension KeyedDecodingContainer {
    /// Decodes a field whose schema has a default: an absent key gives `defaultValue`, an explicit
    /// `null` is still an error (the schema does not allow null there, unlike `decodeIfPresent`).
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key, default defaultValue: @autoclosure () -> T) throws -> T {
        contains(key) ? try decode(type, forKey: key) : defaultValue()
    }
}
