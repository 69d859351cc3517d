import Synchronization

/// The last few lines of a program's output, kept for its error message.
final class LastLines: Sendable {
    private let storage: Mutex<[String]>
    private let count: Int

    init(count: Int) {
        self.count = count
        self.storage = Mutex([])
    }

    func append(_ line: String) {
        storage.withLock {
            $0.append(line)
            if $0.count > count { $0.removeFirst($0.count - count) }
        }
    }

    var lines: [String] { storage.withLock { $0 } }
}
