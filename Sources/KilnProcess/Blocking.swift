import Foundation

/// Runs blocking work (libcurl, libarchive, file trees, a wait on another
/// program's pipe) on a thread of its own, so that it never stalls the
/// cooperative pool the rest of the process runs on. The stack is 8 MiB:
/// libarchive and deep directory walks need more than a secondary thread's default.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
