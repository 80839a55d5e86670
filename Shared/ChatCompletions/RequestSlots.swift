/// Bounds the requests one ``ChatCompletionsClient`` has in flight. A request's timeout starts
/// only once it holds a slot, so requests queued behind slow ones do not time out while waiting.
actor RequestSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) {
        precondition(count >= 1, "at least one slot")
        free = count
    }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}
