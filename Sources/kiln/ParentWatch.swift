import Foundation
import ServiceLifecycle

/// Stops this process gracefully when the process that started it is gone,
/// so that the workers of a `kiln up` that was killed outright do not run on
/// as orphans. It raises SIGTERM on itself: the same drain as a stop.
struct ParentWatch: Service {
    let parent: Int32

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            if getppid() != parent {
                kill(getpid(), SIGTERM)
                return
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
