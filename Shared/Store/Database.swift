import Dispatch
import Foundation
import Logging
import Resilience

/// A small pool of ``PostgresConnection``s for async code. Each call runs on the pool's own
/// dispatch queue, so blocking libpq calls never occupy the cooperative thread pool.
///
/// Connections open lazily. When a call fails because its connection broke (server restart,
/// `pg_terminate_backend`), that connection is dropped and the call throws a retriable
/// ``StoreError``; the next call opens a fresh connection.
public final class Database: @unchecked Sendable {
    /// The configuration every connection is opened with.
    public let configuration: DatabaseConfiguration
    private let logger: Logger

    /// The pool's state, behind the one lock wrapper.
    private struct PoolState {
        var idle: [Slot] = []
        var waiters: [CheckedContinuation<Slot, any Error>] = []
        var isShutDown = false
    }
    private let state = Locked(PoolState())

    /// One pool position: a serial queue and the connection it owns (nil until first use or
    /// after the connection broke).
    private final class Slot: @unchecked Sendable {
        let queue: DispatchQueue
        var connection: PostgresConnection?
        init(index: Int) { queue = DispatchQueue(label: "cdra.store.connection.\(index)") }
    }

    public init(configuration: DatabaseConfiguration,
                logger: Logger = Logger(label: "cdra.store")) {
        self.configuration = configuration
        self.logger = logger
        let slots = (0..<configuration.poolSize).map { Slot(index: $0) }
        state.withLock { $0.idle = slots }
    }

    /// Runs `body` with a pooled connection, on the pool's queue. Waits for a free connection
    /// when all are busy. If the body leaves a transaction open, it is rolled back.
    @discardableResult
    public func withConnection<T>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let slot = try await acquire()
        defer { release(slot) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            slot.queue.async { [self] in
                continuation.resume(with: Result { try self.run(body, on: slot) })
            }
        }
    }

    /// Runs `body` in a transaction on a pooled connection: COMMIT when it returns, ROLLBACK
    /// when it throws. Retrying a retriable error is the caller's decision.
    @discardableResult
    public func transaction<T>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { connection in try connection.transaction(body) }
    }

    /// Closes every idle connection and fails later calls; calls in flight finish first.
    public func shutdown() {
        let (slots, pending) = state.withLock { state -> ([Slot], [CheckedContinuation<Slot, any Error>]) in
            state.isShutDown = true
            defer { state.waiters.removeAll() }
            return (state.idle, state.waiters)
        }
        for waiter in pending {
            waiter.resume(throwing: StoreError(.shutDown, "the database pool was shut down"))
        }
        for slot in slots { slot.queue.async { slot.connection = nil } }
    }

    // MARK: - Internals

    private func run<T>(_ body: (PostgresConnection) throws -> T, on slot: Slot) throws -> T {
        let connection: PostgresConnection
        if let existing = slot.connection, existing.isHealthy {
            connection = existing
        } else {
            slot.connection = nil
            connection = try PostgresConnection(configuration: configuration)
            slot.connection = connection
        }
        do {
            let value = try body(connection)
            cleanUp(slot)
            return value
        } catch {
            cleanUp(slot)
            throw error
        }
    }

    /// Drops a broken connection; rolls back a transaction the body left open.
    private func cleanUp(_ slot: Slot) {
        guard let connection = slot.connection else { return }
        if !connection.isHealthy {
            logger.warning("dropping a broken database connection; the next call reconnects")
            slot.connection = nil
            return
        }
        if !connection.transactionIdle {
            if (try? connection.execute("ROLLBACK")) == nil || !connection.transactionIdle {
                slot.connection = nil
            }
        }
    }

    private func acquire() async throws -> Slot {
        try await withCheckedThrowingContinuation { continuation in
            // Decide under the lock, resume outside it.
            let outcome = state.withLock { state -> Result<Slot, StoreError>? in
                if state.isShutDown { return .failure(StoreError(.shutDown, "the database pool was shut down")) }
                if let slot = state.idle.popLast() { return .success(slot) }
                state.waiters.append(continuation)
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    private func release(_ slot: Slot) {
        enum Next { case close, handOver(CheckedContinuation<Slot, any Error>), keep }
        let next = state.withLock { state -> Next in
            if state.isShutDown { return .close }
            if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst()) }
            state.idle.append(slot)
            return .keep
        }
        switch next {
        case .close: slot.queue.async { slot.connection = nil }
        case .handOver(let waiter): waiter.resume(returning: slot)
        case .keep: break
        }
    }
}
