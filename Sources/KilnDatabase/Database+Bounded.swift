import Synchronization

extension Database {
    /// Runs `body` but gives up after `limit`, throwing a ``DatabaseError``.
    ///
    /// For writes that must not hang a build when PostgreSQL vanishes mid-
    /// query (a restart, a cut network). A body that ignores cancellation is
    /// cancelled and left to finish on its own; the caller is released at
    /// the limit either way, and retries.
    public func bounded<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let work = Task { try await body() }
        let outcome = OnceContinuation<Result<T, any Error>>()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
            outcome.set(continuation)
            Task {
                let result = await work.result
                outcome.take()?.resume(returning: result)
            }
            Task {
                try? await Task.sleep(for: limit)
                if let waiting = outcome.take() {
                    work.cancel()
                    waiting.resume(returning: .failure(DatabaseError("the database did not answer within \(limit)")))
                }
            }
        }
        return try result.get()
    }
}

/// A continuation resumed by whichever of two tasks comes first.
private final class OnceContinuation<T: Sendable>: Sendable {
    private let slot = Mutex<CheckedContinuation<T, Never>?>(nil)
    func set(_ continuation: CheckedContinuation<T, Never>) { slot.withLock { $0 = continuation } }
    func take() -> CheckedContinuation<T, Never>? { slot.withLock { $0.take() } }
}
