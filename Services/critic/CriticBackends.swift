import Critique
import Foundation
import Logging
import Metrics
import Resilience
import Store

/// The backend a critic replica answers with, swapped when a newer PRM checkpoint is published,
/// and the other PRM checkpoints that requests ask for by id.
///
/// A micro-batch takes ``current`` once and keeps it to the end: a swap replaces the backend only
/// for the batches that start after it, so every request in flight is answered once, by the
/// backend it started with, and none is dropped.
public final class CriticBackends: Sendable {
    public let factory: CriticBackendFactory
    private let database: Database
    private let logger: Logger
    private let state: Locked<State>

    struct State {
        var current: any CriticBackend
        /// Backends of checkpoints requests named, least recently used first.
        var pinned: [(checkpointID: String, backend: any CriticBackend)] = []
    }

    /// Checkpoints named by requests that stay loaded besides the current one.
    static let pinnedLimit = 2

    private static let swaps = Counter(label: "cdra_critic_backend_swaps_total")

    /// - Parameter initial: the backend to start with; default the factory's.
    public init(factory: CriticBackendFactory, initial: (any CriticBackend)? = nil, database: Database, logger: Logger) {
        self.factory = factory
        self.database = database
        self.logger = logger
        state = Locked(State(current: initial ?? factory.initialBackend()))
    }

    /// The backend new micro-batches use.
    public var current: any CriticBackend { state.current.current }

    /// False while the replica has only a stand-in that fails every request (no checkpoint yet, a
    /// backend that is not built in).
    public var isReady: Bool { !(current is UnavailableCritic) }

    /// Loads the newest `prm` checkpoint when it is not the one in use and makes it current; true
    /// when it swapped. A checkpoint that does not load is logged and the current backend kept.
    /// Throws only what retrying may fix (the database unreachable).
    @discardableResult
    public func refresh() async throws -> Bool {
        guard factory.kind.followsCheckpoints, let loader = factory.loader else { return false }
        let filter = factory.checkpointFilter
        let newest = try await database.withConnection {
            try CheckpointRepository($0).latestID(modelKind: "prm", configContains: filter, newest: true)
        }
        let previous = current
        guard let newest else {
            if previous is UnavailableCritic {
                logger.warning("the critic cannot answer yet", metadata: ["reason": "\(CriticBackendFactory.noCheckpointReason)"])
            }
            return false
        }
        guard newest != previous.checkpointID,
              let record = try await database.withConnection({ try CheckpointRepository($0).load(newest) })
        else { return false }
        let backend: any CriticBackend
        do {
            backend = try loader(record)
        } catch {
            logger.error("checkpoint could not be loaded; the current backend stays", metadata: [
                "checkpoint": "\(newest)", "error": "\(error)"])
            if previous is UnavailableCritic {
                state.withLock {
                    $0.current = UnavailableCritic(name: factory.kind.rawValue,
                                                   reason: "prm checkpoint \(newest) could not be loaded: \(error)")
                }
            }
            return false
        }
        state.withLock { $0.current = backend }
        Self.swaps.increment()
        logger.notice("critic backend swapped", metadata: [
            "from": "\(previous.checkpointID ?? previous.name)", "to": "\(newest)", "backend": "\(backend.name)",
            "step": "\(record.step)"])
        return true
    }

    /// What a request naming a PRM checkpoint is answered with: `current` when it is that
    /// checkpoint, else the checkpoint loaded from the database, else the reason it cannot be.
    enum Resolution {
        case backend(any CriticBackend)
        case failed(String)
    }

    func backend(forCheckpoint checkpointID: String, current: any CriticBackend) async throws -> Resolution {
        if current.checkpointID == checkpointID { return .backend(current) }
        let pinned = state.withLock { state -> (any CriticBackend)? in
            guard let index = state.pinned.firstIndex(where: { $0.checkpointID == checkpointID }) else { return nil }
            let entry = state.pinned.remove(at: index)
            state.pinned.append(entry)
            return entry.backend
        }
        if let pinned { return .backend(pinned) }

        let kind = try await database.withConnection { try CheckpointRepository($0).modelKind(of: checkpointID) }
        guard let kind else { return .failed("critic checkpoint '\(checkpointID)' does not exist") }
        guard kind == "prm" else { return .failed("checkpoint '\(checkpointID)' is a \(kind) checkpoint, not a prm one") }
        guard let loader = factory.loader else {
            return .failed("the \(current.name) backend scores without PRM checkpoints, so it cannot use checkpoint '\(checkpointID)'")
        }
        guard let record = try await database.withConnection({ try CheckpointRepository($0).load(checkpointID) }) else {
            return .failed("critic checkpoint '\(checkpointID)' does not exist")
        }
        let backend: any CriticBackend
        do {
            backend = try loader(record)
        } catch {
            return .failed("critic checkpoint '\(checkpointID)' could not be loaded: \(error)")
        }
        state.withLock { state in
            state.pinned.append((checkpointID, backend))
            if state.pinned.count > Self.pinnedLimit { state.pinned.removeFirst() }
        }
        logger.info("loaded a checkpoint a request asked for", metadata: ["checkpoint": "\(checkpointID)"])
        return .backend(backend)
    }
}
