import Foundation
import Synchronization

/// A web process as the stable port's proxy sees it: its private port and
/// the client connections proxied to it that are still open.
final class ProxyBackend: Sendable {
    let port: Int
    private let state = Mutex<(live: Int, waiters: [UUID: CheckedContinuation<Void, Never>])>((0, [:]))

    init(port: Int) { self.port = port }

    var liveConnections: Int { state.withLock { $0.live } }

    func opened() { state.withLock { $0.live += 1 } }

    func closed() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.live -= 1
            guard state.live == 0 else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when no connection to it is open (at once if none is), or when the task is cancelled.
    func drained() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.live == 0 || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Waits for ``drained()`` at most `limit`; returns whether it drained.
    func drained(within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.drained(); return !Task.isCancelled }
            group.addTask { try? await Task.sleep(for: limit); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
