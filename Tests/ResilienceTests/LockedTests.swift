import Foundation
import Resilience
import Testing

@Suite struct LockedTests {
    @Test("concurrent updates through the lock are never lost")
    func concurrentIncrements() {
        let counter = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
        }
        #expect(counter.current == 80_000)
    }
}
