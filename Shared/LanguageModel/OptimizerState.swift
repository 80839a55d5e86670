import Foundation
import Tensor

/// An AdamW optimizer's state as bytes, for exact resume: the step count and both moments.
///
/// Layout: the 8 bytes `CDRAADAM`, then little-endian u32 format version (1), u64 step count,
/// u64 parameter count, u32 CRC-32 of the moment bytes, then m and v as little-endian float32.
/// Reading checks all of it before touching the optimizer, so a bad blob is refused with a
/// `ModelError`, never half-applied.
public enum OptimizerState {
    static let magic = Array("CDRAADAM".utf8)
    static let headerCount = 8 + 4 + 8 + 8 + 4

    public static func bytes(_ optimizer: AdamW) -> [UInt8] {
        let n = optimizer.m.count
        var moments = [UInt8](repeating: 0, count: 8 * n)
        moments.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: UInt32.self)
            for i in 0..<n {
                out[i] = optimizer.m[i].bitPattern.littleEndian
                out[n + i] = optimizer.v[i].bitPattern.littleEndian
            }
        }
        var crc = CRC32()
        crc.update(moments)
        var out = magic
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        append(UInt32(1))
        append(UInt64(optimizer.stepCount))
        append(UInt64(n))
        append(crc.value)
        out += moments
        return out
    }

    /// Restores `optimizer` from `bytes`, after checking them completely.
    public static func restore(_ optimizer: AdamW, from bytes: [UInt8]) throws {
        guard bytes.count >= headerCount, Array(bytes[0..<8]) == magic else {
            throw ModelError(.malformedCheckpoint, "the optimizer state is not a CDRA AdamW state (\(bytes.count) bytes)")
        }
        func read<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(bytes[offset + i]) << (8 * i) }
            return v
        }
        let version = read(8, UInt32.self), steps = read(12, UInt64.self), count = read(20, UInt64.self)
        let crc = read(28, UInt32.self)
        guard version == 1 else { throw ModelError(.malformedCheckpoint, "optimizer state format version \(version) is not 1") }
        guard count == UInt64(optimizer.m.count) else {
            throw ModelError(.mismatchedCheckpoint, "the optimizer state is for \(count) parameters, the model has \(optimizer.m.count)")
        }
        let n = Int(count)
        guard bytes.count == headerCount + 8 * n else {
            throw ModelError(.truncatedCheckpoint, "the optimizer state has \(bytes.count) bytes, \(headerCount + 8 * n) expected")
        }
        var check = CRC32()
        check.update(bytes[headerCount...])
        guard check.value == crc else {
            throw ModelError(.corruptedCheckpoint, String(format: "the optimizer state's checksum %08x does not match its contents (%08x)", crc, check.value))
        }
        var m = [Float](repeating: 0, count: n), v = [Float](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + headerCount
            for i in 0..<n {
                m[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                v[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * (n + i), as: UInt32.self)))
            }
        }
        optimizer.restore(stepCount: Int(steps), m: m, v: v)
    }
}
