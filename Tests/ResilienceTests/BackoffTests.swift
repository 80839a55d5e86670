import Resilience
import Testing

@Suite struct BackoffTests {
    /// A fixed generator, so the jittered waits are reproducible.
    struct Fixed: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state }
    }

    @Test("waits double from the initial one and stop at the maximum")
    func exponentialAndCapped() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0)
        #expect(backoff.delay(attempt: 1) == .milliseconds(100))
        #expect(backoff.delay(attempt: 2) == .milliseconds(200))
        #expect(backoff.delay(attempt: 4) == .milliseconds(800))
        #expect(backoff.delay(attempt: 5) == .seconds(1))
        #expect(backoff.delay(attempt: 500) == .seconds(1), "a huge attempt number neither overflows nor exceeds the cap")
    }

    @Test("jitter spreads the waits within the stated band, never above the maximum")
    func jitterStaysInItsBand() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(300), jitter: 0.2)
        var generator = Fixed(state: 42)
        var seen = Set<Duration>()
        for _ in 0..<200 {
            let first = backoff.delay(attempt: 1, using: &generator)
            #expect(first >= .milliseconds(80) && first <= .milliseconds(120))
            seen.insert(first)
            #expect(backoff.delay(attempt: 3, using: &generator) <= .milliseconds(300))
        }
        #expect(seen.count > 50, "the waits are spread, not in lockstep")
    }

    @Test("a server's hint raises the wait, still capped")
    func hintIsAFloorUnderTheCap() {
        let backoff = Backoff(initial: .milliseconds(10), maximum: .seconds(5), jitter: 0)
        #expect(backoff.delay(attempt: 1, atLeast: .seconds(1)) == .seconds(1))
        #expect(backoff.delay(attempt: 1, atLeast: .seconds(60)) == .seconds(5))
        #expect(backoff.delay(attempt: 1, atLeast: .milliseconds(1)) == .milliseconds(10))
    }

    @Test("a zero initial wait retries at once")
    func zeroInitial() {
        #expect(Backoff(initial: .zero, maximum: .seconds(1)).delay(attempt: 3) == .zero)
    }
}
