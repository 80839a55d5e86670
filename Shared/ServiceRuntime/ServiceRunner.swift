import Foundation
import Logging
import Metrics
import ServiceLifecycle
import UnixSignals

/// Runs a service's long-running parts in one `ServiceGroup` together with the operations HTTP
/// server, and shuts them all down gracefully on SIGTERM or SIGINT.
///
/// Shutdown order. ServiceGroup signals graceful shutdown in reverse order of the group and waits
/// for each member to return before signalling the next. The group is
/// `[operations server, caller's services..., shutdown announcer]`, so on SIGTERM:
/// 1. the announcer flips `/health` to 503 "shutting_down" (load balancers stop routing);
/// 2. the caller's services, last first, finish the work in hand, commit and flush;
/// 3. the operations server stops last, so `/metrics` stays scrapeable while the service drains.
/// If the whole shutdown takes longer than `--shutdown-timeout-seconds`, the remaining tasks are
/// cancelled.
///
/// How a long-running loop should react (e.g. a consumer):
/// ```swift
/// func run() async throws {
///     // Stop pulling new work when shutdown starts; the batch in hand is still finished.
///     for try await batch in consumer.batches().cancelOnGracefulShutdown() {
///         try await store.write(batch)      // one transaction
///         try await consumer.commit(batch)  // offsets only after the database commit
///     }
///     try await producer.flush()            // deliver what was produced, then return
/// }
/// ```
/// Do not check `Task.isCancelled` for graceful shutdown: cancellation is the escalation that
/// follows only when the timeout expires, and then work in hand may be abandoned (it is redelivered
/// because its offsets were not committed).
public final class ServiceRunner: Sendable {
    public let name: String
    public let options: ServiceOptions
    /// The operations server, nil when `--http-port -1` disabled it.
    public let operationsServer: OperationsServer?
    private let group: ServiceGroup
    private let logger: Logger

    /// The port `/metrics` and `/health` are served on, nil when disabled.
    public var httpPort: Int? { operationsServer?.port }

    /// Builds the group and binds the operations server (so ``httpPort`` is known before ``run()``).
    /// - Parameters:
    ///   - gracefulShutdownSignals: signals that start graceful shutdown. Default: SIGTERM, SIGINT.
    ///   - logger: the runner's logger. Default: `Logger(label: name)`.
    public init(name: String, options: ServiceOptions, healthChecks: [HealthCheck] = [],
                services: [any Service], gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
                logger: Logger? = nil) throws {
        let logger = logger ?? Logger(label: name)
        self.name = name
        self.options = options
        self.logger = logger

        var members: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if options.httpPort >= 0 {
            var config = OperationsServer.Configuration(host: options.httpHost, port: options.httpPort)
            config.maxHeaderBytes = 8192
            let server = try OperationsServer(configuration: config, service: name,
                                              healthChecks: healthChecks, logger: logger)
            self.operationsServer = server
            members.append(.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup,
                                 failureTerminationBehavior: .gracefullyShutdownGroup,
                                 serviceName: "operations-server"))
        } else {
            self.operationsServer = nil
        }
        for (index, service) in services.enumerated() {
            // A member that returns or throws shuts the rest down gracefully (not by cancellation),
            // so its siblings still commit and flush; the group then rethrows the first error.
            // The name is the type only: ServiceGroup's default, "\(service)", would print the
            // service's stored properties into its logs, and those may hold credentials.
            members.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                                 failureTerminationBehavior: .gracefullyShutdownGroup,
                                 serviceName: "\(name)[\(index)] \(type(of: service))"))
        }
        members.append(.init(service: ShutdownAnnouncer(server: operationsServer, logger: logger),
                             successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore,
                             serviceName: "shutdown-announcer"))

        var configuration = ServiceGroupConfiguration(services: members,
                                                      gracefulShutdownSignals: gracefulShutdownSignals,
                                                      logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(options.shutdownTimeoutSeconds)
        self.group = ServiceGroup(configuration: configuration)
    }

    /// Logs the resolved (redacted) configuration, then runs until every member has returned.
    /// Rethrows the first error a member threw.
    public func run() async throws {
        logger.info("starting", metadata: [
            "configuration": .string(options.redactedDescription),
            "pid": "\(getpid())",
        ])
        Gauge(label: "cdra_service_start_time_seconds", dimensions: [("service", name)])
            .record(Date().timeIntervalSince1970)
        do {
            try await group.run()
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("stopped")
    }

    /// Starts graceful shutdown as SIGTERM would. Returns at once; ``run()`` returns when done.
    public func triggerGracefulShutdown() async {
        await group.triggerGracefulShutdown()
    }
}

/// Last member of the group, so the first to hear of graceful shutdown: logs it and turns
/// `/health` to "shutting_down" before the real services start draining.
struct ShutdownAnnouncer: Service {
    let server: OperationsServer?
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return // cancelled: the group is being torn down anyway
        }
        logger.info("graceful shutdown started")
        server?.reportShuttingDown()
    }
}

/// What every service's `main` calls: sets up logging (to stderr, per the options) and metrics
/// (Prometheus), then runs `services` with the operations server until SIGTERM/SIGINT.
///
/// ```swift
/// try await runService(name: "council-generator", options: options,
///                      healthChecks: [HealthCheck("database") { await store.ping() }],
///                      services: [consumer])
/// ```
public func runService(name: String, options: ServiceOptions, healthChecks: [HealthCheck] = [],
                       services: [any Service]) async throws {
    ServiceLogging.bootstrap(service: name, options: options)
    ServiceMetrics.bootstrap()
    let runner = try ServiceRunner(name: name, options: options, healthChecks: healthChecks,
                                   services: services)
    try await runner.run()
}
