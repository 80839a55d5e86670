import Bus
import Logging
import Resilience

/// Process-wide logging set-up: swift-log's `LoggingSystem` with ``ServiceLogHandler`` writing to
/// standard error.
///
/// `LoggingSystem.bootstrap` may run only once per process, so the first call bootstraps a factory
/// that reads the current settings, and later calls (several services in one test process) only
/// change those settings; loggers made after the change use them.
public enum ServiceLogging {
    private struct Settings {
        var service: String
        var level: Logger.Level
        var format: ServiceOptions.LogFormat
    }

    private static let settings = Locked(Settings(service: "cdra", level: .info, format: .text))
    private static let bootstrapped = Locked(false)

    /// Routes every `Logger` created from now on to standard error, at `level`, in `format`, with
    /// `service` on every line.
    public static func bootstrap(service: String, level: Logger.Level, format: ServiceOptions.LogFormat) {
        settings.withLock { $0 = Settings(service: service, level: level, format: format) }
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            let current = settings.current
            return ServiceLogHandler(label: label, service: current.service, format: current.format,
                                     logLevel: current.level, output: .standardError)
        }
    }

    /// Convenience: bootstrap from resolved options.
    public static func bootstrap(service: String, options: ServiceOptions) {
        bootstrap(service: service, level: options.logLevel, format: options.logFormat)
    }
}
