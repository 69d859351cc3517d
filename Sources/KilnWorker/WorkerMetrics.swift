import Foundation
import KilnCatalog
import KilnQueue
import Metrics

/// What a worker reports through swift-metrics (Prometheus names; `kiln
/// worker --metrics-port` serves them): builds by outcome and phase, busy
/// slots, the dependency cache's use. The blob store reports its own
/// requests (KilnS3) and the server the queue's depth.
enum WorkerMetrics {
    /// `succeeded`, `failed`, `cancelled` or `fenced` (lease lost: another attempt counts).
    static func outcome(of result: Result<some Sendable, any Error>) -> String {
        switch result {
        case .success: return "succeeded"
        case .failure(let error as BuildSupervisionError) where error == .leaseLost: return "fenced"
        case .failure(let error as BuildSupervisionError) where error == .cancelled: return "cancelled"
        case .failure: return "failed"
        }
    }

    static func record(outcome result: Result<some Sendable, any Error>, phases: [(phase: BuildPhase, duration: Duration)], elapsed: Duration) {
        let outcome = outcome(of: result)
        Counter(label: "kiln_builds_finished_total", dimensions: [("outcome", outcome)]).increment()
        Metrics.Timer(label: "kiln_build_seconds", dimensions: [("outcome", outcome)]).record(duration: elapsed)
        for phase in phases {
            Metrics.Timer(label: "kiln_build_phase_seconds", dimensions: [("phase", phase.phase.rawValue)]).record(duration: phase.duration)
        }
    }

    static func record(_ use: CacheUse) {
        Counter(label: "kiln_cache_hits_total").increment(by: Int(use.hits))
        Counter(label: "kiln_cache_misses_total").increment(by: Int(use.misses))
        Counter(label: "kiln_cache_faults_total").increment(by: Int(use.faults))
        Counter(label: "kiln_cache_restored_bytes_total").increment(by: Int(use.bytesRestored))
        Counter(label: "kiln_cache_saved_bytes_total").increment(by: Int(use.bytesSaved))
    }
}
