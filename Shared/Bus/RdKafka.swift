import CRdKafka
import Foundation
import Logging
import Resilience
import Settings

// The only file besides KafkaBus.swift and KafkaConsumer.swift that touches librdkafka: building
// configurations, routing its logs and errors to swift-log, and classifying its error codes.

/// State librdkafka's callbacks reach through `rd_kafka_opaque`: the logger and the last
/// client-level error (e.g. "all brokers down"), used to explain a failed delivery.
final class RdKafkaContext: @unchecked Sendable {
    let logger: Logger
    let lastClientError = Locked<String?>(nil)

    init(logger: Logger) {
        self.logger = logger
    }

    static func from(_ rk: OpaquePointer?) -> RdKafkaContext? {
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return nil }
        return Unmanaged<RdKafkaContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

enum RdKafka {
    /// The librdkafka version loaded at run time (the stack's 2.16, not Debian's 2.0.2, when the
    /// runpath or LD_LIBRARY_PATH is right).
    static var runtimeVersion: String {
        String(cString: rd_kafka_version_str())
    }

    /// A new `rd_kafka_conf_t` with `settings` applied in order, wired to `context`.
    /// The caller owns the result until `rd_kafka_new` succeeds.
    static func makeConf(_ settings: [(String, String)], context: RdKafkaContext) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw BusError(.configuration, "rd_kafka_conf_new failed", isRetriable: false)
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for (name, value) in settings {
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // librdkafka's message quotes the value; never echo a secret one.
                let detail = Redaction.isSecretName(name)
                    ? "invalid value for '\(name)' (value redacted)"
                    : String(cString: errstr)
                throw BusError(.configuration, "librdkafka rejected property '\(name)': \(detail)", isRetriable: false)
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let context = RdKafkaContext.from(rk), let message else { return }
            let text = "librdkafka \(facility.map { String(cString: $0) } ?? ""): \(String(cString: message))"
            switch level {
            case ...3: context.logger.error("\(text)")
            case 4: context.logger.warning("\(text)")
            case 5: context.logger.notice("\(text)")
            case 6: context.logger.info("\(text)")
            default: context.logger.debug("\(text)")
            }
        }
        rd_kafka_conf_set_error_cb(conf) { rk, code, reason, _ in
            guard let context = RdKafkaContext.from(rk) else { return }
            let err = rd_kafka_resp_err_t(code)
            let text = "\(RdKafka.name(err)): \(reason.map { String(cString: $0) } ?? RdKafka.describe(err))"
            context.lastClientError.withLock { $0 = text }
            if err == RD_KAFKA_RESP_ERR__FATAL {
                context.logger.error("kafka client fatal error: \(text)")
            } else {
                context.logger.warning("kafka client error: \(text)")
            }
        }
        return conf
    }

    /// Creates a client; `rd_kafka_new` takes ownership of the conf only on success.
    static func makeClient(_ type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw BusError(.configuration, "could not create kafka client: \(String(cString: errstr))", isRetriable: false)
        }
        return rk
    }

    static func name(_ err: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2name(err))
    }

    static func describe(_ err: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(err))
    }

    /// Errors after which the same request can succeed: brokers restarting, leaders moving,
    /// rebalances, timeouts. Classified by name so the list compiles against any header version.
    static let retriableNames: Set<String> = [
        "_TRANSPORT", "_ALL_BROKERS_DOWN", "_MSG_TIMED_OUT", "_TIMED_OUT", "_TIMED_OUT_QUEUE", "_RESOLVE",
        "_QUEUE_FULL", "_WAIT_COORD", "_PURGE_QUEUE", "_PURGE_INFLIGHT", "_REVOKE_PARTITIONS", "_ASSIGN_PARTITIONS",
        "_NO_OFFSET", "_OUTDATED", "_STATE", "_RETRY", "_PARTIAL", "_PREV_IN_PROGRESS", "_WAIT_CACHE",
        "REQUEST_TIMED_OUT", "NETWORK_EXCEPTION", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
        "NOT_LEADER_OR_FOLLOWER", "FENCED_LEADER_EPOCH", "UNKNOWN_LEADER_EPOCH", "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "UNKNOWN_TOPIC_OR_PART", "COORDINATOR_LOAD_IN_PROGRESS",
        "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "REBALANCE_IN_PROGRESS", "ILLEGAL_GENERATION",
        "UNKNOWN_MEMBER_ID", "KAFKA_STORAGE_ERROR", "OFFSET_NOT_AVAILABLE", "THROTTLING_QUOTA_EXCEEDED",
        "UNSTABLE_OFFSET_COMMIT", "BROKER_NOT_AVAILABLE", "REPLICA_NOT_AVAILABLE", "CONCURRENT_TRANSACTIONS",
    ]

    static func isRetriable(_ err: rd_kafka_resp_err_t) -> Bool {
        retriableNames.contains(name(err))
    }

    /// Errors meaning that no broker could be reached.
    static func isUnreachable(_ err: rd_kafka_resp_err_t) -> Bool {
        ["_TRANSPORT", "_ALL_BROKERS_DOWN", "_MSG_TIMED_OUT", "_TIMED_OUT", "_RESOLVE"].contains(name(err))
    }

    static func error(_ code: BusError.Code, _ err: rd_kafka_resp_err_t, _ context: String) -> BusError {
        BusError(code, "\(context): \(describe(err))", isRetriable: isRetriable(err), kafkaErrorName: name(err))
    }
}
