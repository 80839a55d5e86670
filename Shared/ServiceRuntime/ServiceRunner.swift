import Bus
import Events
import Foundation
import Logging
import Metrics
import Resilience
import ServiceLifecycle
import Store
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
/// How a long-running loop should react (``EventProcessorService`` does this for consumers):
/// ```swift
/// func run() async throws {
///     // Cancellation on graceful shutdown makes the processor finish and commit the batch in
///     // hand (offsets only after the database commit) and return.
///     try await cancelWhenGracefulShutdown { try await processor.run() }
///     _ = await bus.flush(timeout: .seconds(10))  // deliver what was produced, then return
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

/// The one entry point every service's `main` calls. In order, it:
/// 1. sets up logging (stderr, per the options) and metrics (Prometheus);
/// 2. opens the PostgreSQL pool and applies the migrations, retrying while the database is
///    unreachable (a stack that is still starting) for up to `--startup-timeout-seconds`;
/// 3. connects to Kafka and creates `topics` that do not exist yet, with `partitions` partitions
///    (default: `CDRA_TOPIC_PARTITIONS`, else 4);
/// 4. calls `services` with a ``ServiceContext`` to build the service's own members;
/// 5. serves `/metrics` and `/health` ("database" and "kafka" checks, plus `healthChecks`) and runs
///    everything in one ServiceGroup until SIGTERM or SIGINT, then shuts down gracefully (see
///    ``ServiceRunner``), flushes the producer and closes the pool.
///
/// A service is then its options, its handler and this call:
/// ```swift
/// try await runService("critic", options: options, replicaID: replicaID,
///                      topics: [requestsTopic]) { context in
///     let critic = Critic(database: context.database, bus: context.bus, codec: context.codec)
///     return [context.consumer(of: CritiqueRequested.self, topic: requestsTopic, group: group) { batch in
///         try await critic.handle(batch)
///     }]
/// }
/// ```
public func runService(
    _ name: String, options: ServiceOptions, replicaID: String? = nil, topics: [String] = [],
    partitions: Int? = nil, healthChecks: [HealthCheck] = [],
    services makeServices: (ServiceContext) async throws -> [any Service]
) async throws {
    ServiceLogging.bootstrap(service: name, options: options)
    ServiceMetrics.bootstrap()
    let replica = replicaID ?? "replica-\(getpid())"
    var logger = Logger(label: name)
    logger[metadataKey: "replica"] = "\(replica)"

    // `<service>/<replica>` in pg_stat_activity, so an operator sees which replica holds what.
    let database = Database(configuration: options.databaseConfiguration(applicationName: "\(name)/\(replica)"))
    defer { database.shutdown() }
    let startup = Duration.seconds(options.startupTimeoutSeconds)
    try await retryingWhileStarting("database migrations", logger: logger, limit: startup) { try await Migrator.migrate(database) }
    let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: logger)
    for topic in topics {
        try await retryingWhileStarting("creating topic \(topic)", logger: logger, limit: startup) {
            try await bus.createTopic(topic, partitions: partitions ?? options.topicPartitions)
        }
    }

    if !topics.isEmpty { logger.info("topics ready", metadata: ["topics": "\(topics.joined(separator: ","))"]) }
    let context = ServiceContext(name: name, replicaID: replica, options: options, logger: logger,
                                 database: database, bus: bus,
                                 codec: EventCodec(maxEventBytes: options.maxEventBytes))
    let members = try await makeServices(context)
    var checks = [HealthCheck("database") {
        (try? await database.withConnection { try $0.execute("SELECT 1") }) != nil
    }]
    if let probe = topics.first {
        checks.append(HealthCheck("kafka") { (try? await bus.partitionCount(of: probe)) != nil })
    }
    let runner = try ServiceRunner(name: name, options: options, healthChecks: checks + healthChecks,
                                   services: members, logger: logger)
    if let port = runner.httpPort { logger.info("operations endpoint", metadata: ["port": "\(port)"]) }
    try await runner.run()
    // One flush for every member: whatever they produced is delivered before the process exits.
    _ = await bus.flush(timeout: .seconds(10))
}

/// Runs `operation`, retrying retriable failures (the database or broker still starting) with the
/// shared backoff for at most `limit`; other errors, and the last retriable one, are thrown.
func retryingWhileStarting(_ what: String, logger: Logger, limit: Duration,
                           _ operation: () async throws -> Void) async throws {
    let backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(5))
    let deadline = ContinuousClock.now + limit
    var attempt = 0
    while true {
        do {
            return try await operation()
        } catch let error as any RetriableError where error.isRetriable && ContinuousClock.now < deadline {
            attempt += 1
            let delay = backoff.delay(attempt: attempt)
            logger.warning("start-up step failed; retrying", metadata: [
                "step": "\(what)", "attempt": "\(attempt)", "delay_ms": "\(Int(delay / .milliseconds(1)))",
                "error": "\(error)"])
            try await Task.sleep(for: delay)
        }
    }
}
