import Foundation

/// Runs a blocking call on `queue` and resumes the calling task with its result, so that
/// librdkafka's blocking functions never occupy a thread of Swift's cooperative pool.
func runBlocking<T>(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        queue.async {
            continuation.resume(with: Result { try body() })
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a small positive timeout never becomes 0 (non-blocking).
    var roundedUpMilliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(clamping: max(0, ms))
    }

    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
