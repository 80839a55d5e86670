import Events

/// An error that knows whether retrying the same work can succeed.
///
/// ``EventProcessor`` retries a handler that throws such an error with ``isRetriable`` true, and
/// dead-letters the event otherwise. Errors that do not conform count as not retriable. Modules
/// that do not depend on Bus (e.g. Store) get a one-line retroactive conformance where they meet.
public protocol RetriableError: Error {
    var isRetriable: Bool { get }
}

extension BusError: RetriableError {}

extension EventDecodingError: RetriableError {}
