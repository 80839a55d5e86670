import Bus
import Store

extension ServiceOptions {
    /// The Kafka client configuration these options describe (brokers, security, timeouts, topic
    /// replication, and the `CDRA_KAFKA_PROP_*` pass-through properties, applied last).
    /// The group timeouts travel as their own fields: ``KafkaBus`` applies them to consumers only.
    public func kafkaConfiguration() -> KafkaConfiguration {
        KafkaConfiguration(
            brokers: kafkaBrokers, clientID: kafkaClientID, sessionTimeoutMs: kafkaSessionTimeoutMs,
            heartbeatIntervalMs: kafkaHeartbeatIntervalMs, replicationFactor: kafkaReplicationFactor,
            properties: kafkaProperties(includeConsumerGroupSettings: false)
                .merging(kafkaPassThroughProperties) { _, passedThrough in passedThrough })
    }

    /// The PostgreSQL configuration these options describe (URL with sslmode and password, schema,
    /// pool size, connect timeout).
    public func databaseConfiguration(applicationName: String) -> DatabaseConfiguration {
        DatabaseConfiguration(url: databaseURL(), applicationName: applicationName,
                              connectTimeout: databaseConnectTimeout, schema: databaseSchema,
                              poolSize: databasePoolSize)
    }
}
