import Synchronization

/// The last few lines of a sandboxed program's output, kept for its error
/// message (a buildpack's bin/compile or bin/build that failed).
public final class LastLines: Sendable {
    private let storage: Mutex<[String]>
    private let count: Int

    public init(count: Int) {
        self.count = count
        self.storage = Mutex([])
    }

    public func append(_ line: String) {
        storage.withLock {
            $0.append(line)
            if $0.count > count { $0.removeFirst($0.count - count) }
        }
    }

    public var lines: [String] { storage.withLock { $0 } }
}
