/// An error that knows whether retrying the same work can succeed.
///
/// The event processor retries a handler that throws such an error with ``isRetriable`` true, and
/// dead-letters the event otherwise; errors that do not conform count as not retriable. Each error
/// type conforms where it is defined.
public protocol RetriableError: Error {
    var isRetriable: Bool { get }
}
