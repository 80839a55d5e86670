import Bus
import Store

extension ServiceOptions {
    /// The Kafka client configuration these options describe (brokers, security, timeouts).
    /// The group timeouts travel as their own fields: ``KafkaBus`` applies them to consumers only.
    public func kafkaConfiguration() -> KafkaConfiguration {
        KafkaConfiguration(
            brokers: kafkaBrokers, clientID: kafkaClientID, sessionTimeoutMs: kafkaSessionTimeoutMs,
            heartbeatIntervalMs: kafkaHeartbeatIntervalMs,
            properties: kafkaProperties(includeConsumerGroupSettings: false))
    }

    /// The PostgreSQL configuration these options describe (URL with sslmode and password, schema).
    public func databaseConfiguration(applicationName: String) -> DatabaseConfiguration {
        DatabaseConfiguration(url: databaseURL(), applicationName: applicationName, schema: databaseSchema)
    }
}

// A lost database connection (PostgreSQL restarting, say) is retried by the event processor.
extension StoreError: RetriableError {}
