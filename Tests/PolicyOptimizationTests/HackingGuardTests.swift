import Foundation
import PolicyOptimization
import Testing

@Suite struct HackingGuardTests {
    @Test func refreshesAfterPatienceStepsAndStopsAfterTheLimit() {
        var guardState = HackingGuard(.init(oracleShare: 0.25, gapThreshold: 0.3, patience: 2, maxRefreshes: 1))
        #expect(guardState.observe(gap: 0.5) == .proceed)
        #expect(guardState.observe(gap: 0.1) == .proceed)          // a step under the threshold resets the streak
        #expect(guardState.observe(gap: 0.5) == .proceed)
        #expect(guardState.observe(gap: nil) == .proceed)          // no oracle sample: the streak stays
        #expect(guardState.observe(gap: 0.31) == .refresh(number: 1))
        #expect(guardState.streak == 0 && guardState.refreshes == 1)
        #expect(guardState.observe(gap: 0.3) == .proceed)          // not above the threshold
        #expect(guardState.observe(gap: 0.6) == .proceed)
        guard case let .stop(reason) = guardState.observe(gap: 0.6) else {
            Issue.record("expected the run to stop")
            return
        }
        #expect(reason.contains("1 refresh") && reason.contains("0.30"))
    }

    @Test func gapAndOracleShare() {
        #expect(HackingGuard.gap(prm: [0.8, 0.6], oracle: [0.2, 0.4]) == 0.4)
        #expect(HackingGuard.gap(prm: [], oracle: []) == nil)
        let g = HackingGuard(.init(oracleShare: 0.25))
        #expect(g.oracleCount(batch: 16) == 4 && g.oracleCount(batch: 3) == 1 && g.oracleCount(batch: 0) == 0)
        #expect(HackingGuard(.init(oracleShare: 1)).oracleCount(batch: 5) == 5)
        #expect(!HackingGuard.Configuration(oracleShare: 0, patience: 0, maxRefreshes: -1).problems.isEmpty)
        #expect(HackingGuard.Configuration(oracleShare: 0, patience: 0, maxRefreshes: -1).problems.count == 3)
    }

    @Test func stateSurvivesACheckpoint() throws {
        var g = HackingGuard(.init(patience: 3, maxRefreshes: 2))
        _ = g.observe(gap: 0.9)
        _ = g.observe(gap: 0.9)
        let restored = try JSONDecoder().decode(HackingGuard.self, from: try JSONEncoder().encode(g))
        #expect(restored == g)
        var a = g, b = restored
        #expect(a.observe(gap: 0.9) == .refresh(number: 1) && b.observe(gap: 0.9) == .refresh(number: 1))
    }
}
