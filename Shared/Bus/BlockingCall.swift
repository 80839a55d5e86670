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
