import Foundation

/// Event ids derived from the id of the event that caused them. A consumer that handles a
/// redelivered event publishes its follow-up event again under the same id, so consumers
/// downstream drop the repeat as a duplicate.
public enum DerivedEventID {
    /// What the derived event is; each purpose gives a different id for the same source.
    public enum Purpose: UInt8, Sendable {
        case annotation = 1
        case critique = 2
        case evaluation = 3
    }

    /// A version-4-shaped UUID that is a bijection of (source, purpose): distinct sources never
    /// collide for one purpose.
    public static func make(from source: UUID, purpose: Purpose) -> UUID {
        var bytes = source.uuid
        withUnsafeMutableBytes(of: &bytes) { raw in
            // Mix the purpose into bytes that the version and variant bits leave alone.
            raw[0] ^= 0xA5 &* purpose.rawValue
            raw[5] ^= 0x3C &* purpose.rawValue
            raw[15] ^= purpose.rawValue
        }
        return UUID(uuid: bytes)
    }
}
