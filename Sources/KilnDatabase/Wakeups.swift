/// Wake-up calls for a loop that waits for work: NOTIFY payloads from
/// PostgreSQL and local events, with a timeout as the polling fallback.
public actor Wakeups {
    private var pending: [String] = []
    private var waiter: CheckedContinuation<Void, Never>?

    public init() {}

    /// Records an event and wakes the waiter, if any.
    public func signal(_ payload: String = "") {
        pending.append(payload)
        resume()
    }

    /// Returns the events that arrived since the last call, waiting up to
    /// `timeout` for one when there are none (then the result is empty).
    /// Returns at once when the task is cancelled.
    public func wait(timeout: Duration) async -> [String] {
        if pending.isEmpty && !Task.isCancelled {
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.resume()
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    if pending.isEmpty { waiter = continuation } else { continuation.resume() }
                }
            } onCancel: {
                timer.cancel()
            }
            timer.cancel()
        }
        defer { pending.removeAll() }
        return pending
    }

    private func resume() {
        waiter?.resume()
        waiter = nil
    }
}
