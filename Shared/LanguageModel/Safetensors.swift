import Foundation

/// The tensor directory of a safetensors file: an 8-byte little-endian header length, a JSON header
/// naming every tensor's dtype, shape and byte range, then the tensor bytes.
///
/// Parsing checks the header's shape against the bytes (every range inside the data, the size each
/// dtype and shape need, no two tensors overlapping), so a reader can take a tensor without
/// further bounds checks. `Checkpoint` reads its own files with it; the sentence encoder reads a
/// published model with it.
public struct Safetensors {
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        /// Byte range in the data section (after the header).
        public var offsets: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The header's JSON object as parsed (for callers that check extra fields).
    public let header: [String: Any]
    /// `__metadata__`, when present (string values only).
    public let metadata: [String: String]?
    public let entries: [String: Entry]
    /// Where the data section starts in the file.
    public let dataStart: Int
    /// Bytes of the data section.
    public let dataCount: Int

    static let elementSize: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    /// Parses the header of `bytes` (the whole file).
    public init(bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= 8 else {
            throw ModelError(.truncatedCheckpoint, "\(bytes.count) bytes is shorter than the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw ModelError(.truncatedCheckpoint, "header of \(headerLength) bytes does not fit in \(bytes.count) bytes")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = object as? [String: Any] else {
            throw ModelError(.malformedCheckpoint, "header is not a safetensors JSON object")
        }
        var metadata: [String: String]? = nil
        if let raw = header["__metadata__"] {
            guard let rawMeta = raw as? [String: Any] else {
                throw ModelError(.malformedCheckpoint, "__metadata__ is not a JSON object")
            }
            var meta: [String: String] = [:]
            for (k, v) in rawMeta {
                guard let s = v as? String else { throw ModelError(.malformedCheckpoint, "metadata \(k) is not a string") }
                meta[k] = s
            }
            metadata = meta
        }
        let dataCount = bytes.count - headerEnd
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let rawShape = info["shape"] as? [Any], let rawOffsets = info["data_offsets"] as? [Any] else {
                throw ModelError(.malformedCheckpoint, "tensor \(name) lacks dtype, shape or data_offsets")
            }
            let shape = rawShape.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = rawOffsets.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == rawShape.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw ModelError(.malformedCheckpoint, "tensor \(name) has an unreadable shape \(rawShape) or data_offsets \(rawOffsets)")
            }
            guard let size = Self.elementSize[dtype] else {
                throw ModelError(.malformedCheckpoint, "tensor \(name) has unknown dtype \(dtype)")
            }
            guard offsets[1] <= dataCount else {
                throw ModelError(.truncatedCheckpoint, "tensor \(name) ends at byte \(offsets[1]) of a \(dataCount)-byte data section")
            }
            let entry = Entry(name: name, dtype: dtype, shape: shape, offsets: offsets[0]..<offsets[1])
            guard entry.elementCount * size == entry.offsets.count else {
                throw ModelError(.malformedCheckpoint,
                                 "tensor \(name): shape \(shape) of \(dtype) needs \(entry.elementCount * size) bytes, data_offsets give \(entry.offsets.count)")
            }
            entries[name] = entry
        }
        let sorted = entries.values.sorted { $0.offsets.lowerBound < $1.offsets.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offsets.overlaps(b.offsets) {
            throw ModelError(.malformedCheckpoint, "tensors \(a.name) and \(b.name) overlap")
        }
        self.header = header
        self.metadata = metadata
        self.entries = entries
        self.dataStart = headerEnd
        self.dataCount = dataCount
    }

    /// The named F32 tensor of `bytes` (the file this was parsed from), checked against `shape`.
    public func floats(_ name: String, shape: [Int], in bytes: UnsafeRawBufferPointer) throws -> [Float] {
        guard let e = entries[name] else { throw ModelError(.mismatchedCheckpoint, "tensor \(name) is missing") }
        guard e.dtype == "F32" else { throw ModelError(.mismatchedCheckpoint, "tensor \(name) has dtype \(e.dtype), expected F32") }
        guard e.shape == shape else {
            throw ModelError(.mismatchedCheckpoint, "tensor \(name) has shape \(e.shape), expected \(shape)")
        }
        let base = dataStart + e.offsets.lowerBound
        return [Float](unsafeUninitializedCapacity: e.elementCount) { buffer, count in
            for i in 0..<e.elementCount {
                let bits = bytes.loadUnaligned(fromByteOffset: base + i * 4, as: UInt32.self)
                buffer[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
            count = e.elementCount
        }
    }
}
