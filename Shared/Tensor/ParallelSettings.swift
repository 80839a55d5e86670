import Dispatch
import Foundation

/// Runs `body(start, end)` over `0..<count` split into contiguous chunks across the cores.
///
/// Used for row-wise kernels (layernorm, GELU, softmax rows). Work below `minimumPerChunk`
/// items runs inline: waking threads costs more than it saves on tiny shapes.
@inline(__always)
public func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Int, Int) -> Void) {
    let workers = ParallelSettings.workerCount
    if workers <= 1 || count < 2 * minimumPerChunk {
        body(0, count)
        return
    }
    let chunks = min(workers, count / minimumPerChunk)
    DispatchQueue.concurrentPerform(iterations: chunks) { i in
        let start = count * i / chunks
        let end = count * (i + 1) / chunks
        body(start, end)
    }
}

/// Process-wide setting for the element-wise kernels' thread count.
public enum ParallelSettings {
    /// Threads used by `parallelChunks`. Default: the number of active processors.
    nonisolated(unsafe) public static var workerCount: Int = ProcessInfo.processInfo.activeProcessorCount
}

