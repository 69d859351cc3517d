import Hummingbird
import KilnQueue

/// `/api/queue` and `/api/workers`: the farm's state for operators.
struct FarmRoutes: Sendable {
    let queue: BuildQueue
    let registry: WorkerRegistry
    let authorizer: Authorizer

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/queue") { request, _ in
            try await authorizer.requireAdmin(request)
            return try JSONResponse.make(try await queue.stats())
        }
        router.get("api/workers") { request, _ in
            try await authorizer.requireAdmin(request)
            return try JSONResponse.make(try await registry.workers())
        }
    }
}
