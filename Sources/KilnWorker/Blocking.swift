import Foundation

/// Runs blocking work (libarchive, file trees) on a thread of its own, so
/// that it never stalls the cooperative pool the rest of the worker runs on.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
