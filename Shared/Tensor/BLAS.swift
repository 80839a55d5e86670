import COpenBLAS
import Dispatch
import Foundation
import Settings

/// Row-major matrix products on OpenBLAS. Every matrix product in the models goes through here.
public enum BLAS {
    /// Threads used for every matrix product and by the element-wise kernels.
    ///
    /// OpenBLAS itself is set to one thread and each large product is split by output rows over
    /// `count` workers (one single-threaded `sgemm` each). On small cores-count machines this beats
    /// OpenBLAS's own threading on the model's shapes: its idle threads spin in `sched_yield`
    /// between the many mid-sized calls of a training step, and attention runs its per-head
    /// products on different workers instead of splitting each tiny product.
    /// Set `LM_OPENBLAS_THREADING=1` in the environment to let OpenBLAS thread instead (for comparison).
    /// The kernel family OpenBLAS chose at load time, e.g. `Haswell`, `SkylakeX` or `Prescott`.
    /// It reads the CPU's identity, and under some hypervisors sees an unknown CPU and falls back
    /// to old SSE3 kernels ("Prescott"), several times slower; the environment variable
    /// `OPENBLAS_CORETYPE` (set by Compose/local/env.sh from the CPU's flags) overrides it.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1)
        _ = defaultConfiguration
        ParallelSettings.workerCount = count
        if openBLASThreading {
            openblas_set_num_threads(Int32(count))
        } else {
            openblas_set_num_threads(1)
        }
    }

    /// Until `setThreadCount` is called, OpenBLAS starts single-threaded (the row split here
    /// provides the parallelism; OpenBLAS threads underneath it would oversubscribe the cores).
    static let defaultConfiguration: Void = {
        if !openBLASThreading { openblas_set_num_threads(1) }
    }()

    /// The number of threads matrix products use.
    public static var threadCount: Int { ParallelSettings.workerCount }

    /// Whether OpenBLAS threads each call itself (instead of the row split done here).
    public static let openBLASThreading = (try? EnvironmentReader().boolean("LM_OPENBLAS_THREADING")) == true

    /// `sgemm` whose output rows are split over the workers when the product is large enough to
    /// pay for the split (arguments as in `sgemm`).
    public static func parallelSgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let workers = ParallelSettings.workerCount
        if !openBLASThreading && workers > 1 && m < 64 && n >= 256 && m * n * k >= 1 << 18 {
            // few rows (incremental decoding): split the output columns instead
            let blocks = (n + 15) / 16
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = min(n, blocks * w / workers * 16), end = min(n, blocks * (w + 1) / workers * 16)
                if start >= end { return }
                // columns of op(B) are columns of B, or rows of B when transposed
                let bStart = transB ? b + start * ldb : b + start
                sgemm(transA: transA, transB: transB, m: m, n: end - start, k: k, alpha: alpha, a: a, lda: lda,
                      b: bStart, ldb: ldb, beta: beta, c: c + start, ldc: ldc)
            }
            return
        }
        if openBLASThreading || workers <= 1 || m < 64 || m * n * k < 1 << 20 {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // split on multiples of 16 rows so every worker gets whole register blocks
        let blocks = (m + 15) / 16
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = min(m, blocks * w / workers * 16), end = min(m, blocks * (w + 1) / workers * 16)
            if start >= end { return }
            // rows of op(A) are rows of A, or columns of A when transposed
            let aStart = transA ? a + start : a + start * lda
            sgemm(transA: transA, transB: transB, m: end - start, n: n, k: k, alpha: alpha, a: aStart, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c + start * ldc, ldc: ldc)
        }
    }

    /// `C = alpha * op(A) * op(B) + beta * C` with row-major storage.
    ///
    /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are the row
    /// strides of the matrices as stored (before the transpose), so a matrix can be a column slice
    /// of a wider buffer (an attention head inside the fused qkv activation).
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = defaultConfiguration
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `sgemm` over `batchCount` matrices laid out at fixed strides (in elements).
    public static func sgemmStridedBatched(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
        batchCount: Int
    ) {
        for i in 0..<batchCount {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                  a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                  beta: beta, c: c + i * strideC, ldc: ldc)
        }
    }

    /// `y = alpha * op(A) * x + beta * y` with row-major `A` of `m × n` (before the transpose).
    @inline(__always)
    public static func sgemv(
        transA: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha,
                    a, Int32(lda), x, 1, beta, y, 1)
    }
}
