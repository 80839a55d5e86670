import CRdKafka
import Foundation
import Resilience

/// Counts the delivery reports of one ``KafkaBus/send(_:)`` call and wakes it when every enqueued
/// message has been acknowledged or has failed. Each enqueued message holds one retain on the
/// tracker through its librdkafka opaque pointer; the delivery callback releases it.
final class DeliveryTracker: @unchecked Sendable {
    private struct State {
        var pending = 0
        var producing = true
        var delivered = 0
        var failed = 0
        var failuresByName: [String: (count: Int, description: String, unreachable: Bool)] = [:]
        var done = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    func willEnqueue() {
        state.withLock { $0.pending += 1 }
    }

    /// The enqueue failed, so no delivery report will come for it.
    func enqueueFailed() {
        finish { $0.pending -= 1 }
    }

    /// Called from the delivery-report callback, on the producer's poll thread.
    func report(_ err: rd_kafka_resp_err_t) {
        let failure = err == RD_KAFKA_RESP_ERR_NO_ERROR
            ? nil : (RdKafka.name(err), RdKafka.describe(err), RdKafka.isUnreachable(err))
        finish { state in
            state.pending -= 1
            if let (name, description, unreachable) = failure {
                state.failed += 1
                state.failuresByName[name, default: (0, description, unreachable)].count += 1
            } else {
                state.delivered += 1
            }
        }
    }

    func doneProducing() {
        finish { $0.producing = false }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.done { return true }
                state.continuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Applies `change`, then resumes the waiter (outside the lock) once nothing is outstanding.
    private func finish(_ change: (inout State) -> Void) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            change(&state)
            guard !state.producing, state.pending == 0, !state.done else { return nil }
            state.done = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    /// The outcome once ``wait()`` returned: nil when every message was acknowledged.
    func failure(total: Int, brokers: String, lastClientError: String?) -> BusError? {
        state.withLock { state in
            guard state.failed > 0 else { return nil }
            let reasons = state.failuresByName
                .sorted { $0.value.count > $1.value.count }
                .map { "\($0.value.count)× \($0.key) (\($0.value.description))" }
                .joined(separator: ", ")
            let unreachable = state.failuresByName.values.allSatisfy { $0.unreachable }
            var message = "\(state.failed) of \(total) messages were not acknowledged by the broker: \(reasons)"
            if unreachable {
                message += "; no broker answered at \(brokers)"
                if let lastClientError { message += " (last client error: \(lastClientError))" }
            }
            return BusError(unreachable ? .brokerUnavailable : .deliveryFailed, message,
                            isRetriable: state.failuresByName.keys.allSatisfy { RdKafka.retriableNames.contains($0) },
                            kafkaErrorName: state.failuresByName.max { $0.value.count < $1.value.count }?.key)
        }
    }
}
