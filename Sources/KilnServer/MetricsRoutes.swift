import Hummingbird
import KilnDatabase
import KilnQueue
import Logging
import Metrics
import Prometheus

/// `/metrics` in Prometheus' text format and `/ready`, on the server and on
/// each worker's small endpoint (`kiln worker --metrics-port`). Metrics go
/// through swift-metrics into the process's default Prometheus registry.
struct MetricsRoutes: Sendable {
    let database: Database
    /// Sets the gauges read from the database at scrape time (the server's queue and workers).
    let refresh: @Sendable () async throws -> Void

    func register(on router: Router<BasicRequestContext>) {
        router.get("metrics") { _, _ in
            // A scrape still answers with what the process knows when the database is away.
            try? await database.bounded(.seconds(3)) { try await refresh() }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: PrometheusMetricsFactory.defaultRegistry.emitToString())))
        }
        router.get("ready") { _, _ in
            let pending: [Int]
            do {
                pending = try await database.bounded(.seconds(3)) { try await Migrations.pending(on: database) }
            } catch {
                return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "not ready: the database is unreachable (\(error))\n")))
            }
            guard pending.isEmpty else {
                let versions = pending.map(String.init).joined(separator: ", ")
                return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "not ready: migrations \(versions) are not applied; run `kiln migrate`\n")))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
        }
    }

    /// The queue's depth by state, its oldest wait, and the farm's workers and slots.
    static func queueGauges(queue: BuildQueue, registry: WorkerRegistry) async throws {
        let stats = try await queue.stats()
        for (state, count) in stats.counts {
            Gauge(label: "kiln_builds", dimensions: [("state", state)]).record(count)
        }
        Gauge(label: "kiln_queue_oldest_seconds").record(stats.oldestQueuedSeconds ?? 0)
        Gauge(label: "kiln_build_demand").record(stats.demand ?? 0)
        let workers = try await registry.workers()
        Gauge(label: "kiln_workers", dimensions: [("state", "alive")]).record(workers.filter { !$0.lost }.count)
        Gauge(label: "kiln_workers", dimensions: [("state", "lost")]).record(workers.filter(\.lost).count)
        Gauge(label: "kiln_farm_slots", dimensions: [("state", "total")]).record(workers.filter { !$0.lost }.map(\.capacity).reduce(0, +))
        Gauge(label: "kiln_farm_slots", dimensions: [("state", "busy")]).record(stats.runningPerWorker.values.reduce(0, +))
    }
}

extension KilnServer {
    /// A worker's endpoint: `/health`, `/ready` and `/metrics` on `host:port`.
    public static func workerEndpoint(host: String, port: Int, database: Database, logger: Logger) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.get("health") { _, _ in "ok\n" }
        MetricsRoutes(database: database, refresh: {}).register(on: router)
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "kiln-worker"), logger: logger)
    }
}
