/// 64-bit FNV-1a: a stable content fingerprint (the same bytes give the same value on every run
/// and platform), for ids derived from a text or a checkpoint's bytes. Not a checksum against
/// corruption (that is the checkpoint's CRC-32) and not cryptographic.
public enum FNV1a {
    public static func hash<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// The hash in lowercase hex, without leading zeros.
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        String(hash(bytes), radix: 16)
    }
}
