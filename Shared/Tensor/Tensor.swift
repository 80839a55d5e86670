import Foundation

/// A contiguous, 64-byte aligned buffer of `Float32` values with a shape.
///
/// The kernels in this module take raw pointers (llm.c style); a `Tensor` owns the memory those
/// pointers point into. The allocation is made once and freed in `deinit`, so a model can cut one
/// large tensor into named views without copying.
public final class Tensor {
    /// The logical shape, outermost dimension first.
    public let shape: [Int]
    /// Number of elements (`shape.reduce(1, *)`).
    public let count: Int
    /// Start of the storage; valid for `count` elements while this object is alive.
    public let data: UnsafeMutablePointer<Float>

    /// Allocates a zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        var raw: UnsafeMutableRawPointer?
        // 64-byte alignment keeps AVX loads aligned and matches what OpenBLAS prefers.
        let status = posix_memalign(&raw, 64, max(1, count) * MemoryLayout<Float>.stride)
        precondition(status == 0 && raw != nil, "out of memory allocating \(count) floats")
        self.data = raw!.bindMemory(to: Float.self, capacity: max(1, count))
        data.initialize(repeating: 0, count: max(1, count))
    }

    /// Allocates a tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { free(data) }

    /// Sets every element to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Element access by flat index.
    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// A copy of the contents as an array.
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The storage as a buffer pointer (valid while this object is alive).
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
}
