import Bus
import Foundation
import Testing

/// Prints bus throughput when CDRA_BUS_BENCH is set (`CDRA_BUS_BENCH=100000 swift test --filter BusBenchmarkRun`).
/// It measures; it does not judge, so it asserts only that every message came back.
@Suite("Bus benchmark (only with CDRA_BUS_BENCH)")
struct BusBenchmarkRun {
    static let count = ProcessInfo.processInfo.environment["CDRA_BUS_BENCH"].flatMap { Int($0) }

    @Test("produce and consume throughput", .enabled(if: count != nil), arguments: BusKind.allCases)
    func produceConsume(kind: BusKind) async throws {
        let result = try await BusBenchmark.produceConsume(bus: try kind.makeBus(), count: Self.count ?? 0)
        print("bus benchmark [\(kind)]: \(result)")
        #expect(result.messages == Self.count)
    }

    @Test("event processor throughput", .enabled(if: count != nil), arguments: BusKind.allCases)
    func eventProcessor(kind: BusKind) async throws {
        let perSecond = try await BusBenchmark.eventProcessorThroughput(bus: try kind.makeBus(), count: Self.count ?? 0,
                                                                        logger: testLogger("bench"))
        print(String(format: "bus benchmark [\(kind)]: event processor %.0f events/s (decode + handler + commit)", perSecond))
        #expect(perSecond > 0)
    }
}
