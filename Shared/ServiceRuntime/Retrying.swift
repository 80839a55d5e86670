import Foundation
import Resilience

/// Runs `body`, trying again (with the shared backoff, up to `attempts` times) while it throws an
/// error that says retrying may help, e.g. a database connection lost to a server restart: work
/// already done must not be lost to one dropped connection. `log` hears about every retry.
public func retrying<T>(_ what: String, attempts: Int = 5, log: (String) -> Void = { print($0) },
                        _ body: () async throws -> T) async throws -> T {
    let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(10))
    var attempt = 0
    while true {
        do {
            return try await body()
        } catch let error as any RetriableError where error.isRetriable && attempt < attempts - 1 {
            attempt += 1
            let delay = backoff.delay(attempt: attempt)
            log("\(what) failed (\(error)); trying again in \(delay) (attempt \(attempt + 1) of \(attempts))")
            try await Task.sleep(for: delay)
        }
    }
}
