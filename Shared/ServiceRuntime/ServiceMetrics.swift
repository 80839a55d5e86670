import Metrics
import Prometheus

/// Process-wide metrics set-up: swift-metrics backed by swift-prometheus, so services create
/// `Counter(label:)`, `Timer(label:)`, `Gauge(label:)` from swift-metrics and the operations
/// server exposes them at `/metrics`.
public enum ServiceMetrics {
    /// The registry every swift-metrics metric lands in once ``bootstrap()`` has run.
    public static let registry = PrometheusCollectorRegistry()

    // `MetricsSystem.bootstrap` traps when called twice; a lazily initialised static runs its
    // initialiser exactly once, thread-safely.
    private static let bootstrapOnce: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Latency buckets for the work services do (a database commit, a poll batch, a critique).
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
    }()

    /// Makes swift-metrics report into ``registry``. Safe to call more than once.
    public static func bootstrap() {
        _ = bootstrapOnce
    }

    /// The Prometheus text exposition (format 0.0.4) of everything in ``registry``.
    public static func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
