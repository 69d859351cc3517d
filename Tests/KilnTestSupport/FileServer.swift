import Foundation
import KilnProcess

/// A directory served over HTTP on 127.0.0.1 (Python's `http.server` on a
/// port the kernel picks), for builds that fetch from the test: a
/// wheelhouse, tarballs. Ready when the server says it listens, not after a
/// guessed delay.
public enum FileServer {
    /// Serves `directory` while `body` runs with its base URL (`http://127.0.0.1:PORT/`), then stops it.
    public static func serving<T: Sendable>(_ directory: URL, _ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
        let (ports, announce) = AsyncStream<Int>.makeStream()
        // -u: the "Serving HTTP" line comes when the socket is bound, not when a buffer fills.
        let server = Command("python3", ["-u", "-m", "http.server", "0", "-b", "127.0.0.1", "-d", directory.path])
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                let status = try await server.stream { line in
                    if let port = line.firstMatch(of: /^Serving HTTP on 127\.0\.0\.1 port (\d+)/)?.1, let number = Int(port) {
                        announce.yield(number)
                        announce.finish()
                    }
                }
                announce.finish()
                throw TestSetupError("the file server of \(directory.path) exited \(status)")
            }
            group.addTask {
                var listening = ports.makeAsyncIterator()
                guard let port = await listening.next() else { throw TestSetupError("the file server of \(directory.path) stopped before it listened") }
                return try await body("http://127.0.0.1:\(port)/")
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
            }
            throw TestSetupError("the file server of \(directory.path) stopped")
        }
    }
}

/// The Python tests' wheelhouse (scripts/wheelhouse.sh): the wheels of
/// scripts/wheelhouse.txt, downloaded from PyPI once per recipe into a cache
/// outside the checkout.
public enum Wheelhouse {
    /// The wheelhouse's directory, made first when this recipe has none yet.
    public static func directory() async throws -> URL {
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/wheelhouse.sh").path
        let made = try await sh("bash", [script])
        guard made.succeeded, let path = made.output.split(separator: "\n").last else { throw TestSetupError("scripts/wheelhouse.sh failed: \(made.output)") }
        return URL(fileURLWithPath: String(path))
    }
}
