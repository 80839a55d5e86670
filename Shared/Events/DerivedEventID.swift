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
        case checkpoint = 4
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

    /// The id of an event about a named thing (e.g. a checkpoint's announcement): the same name
    /// and purpose always give the same id. FNV-1a over the name fills the 16 bytes; the version
    /// and variant bits are set as for version 4.
    public static func make(fromName name: String, purpose: Purpose) -> UUID {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(purpose.rawValue)
        var b: UInt64 = 0x8422_2325_cbf2_9ce4 &+ UInt64(purpose.rawValue)
        for byte in name.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 ^ (b >> 29)
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
