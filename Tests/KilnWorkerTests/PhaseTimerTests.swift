import Foundation
import KilnQueue
import Testing
@testable import KilnWorker

/// Phase timings, as the build's record (`builds.timings`) and the REST API keep them.
@Suite struct PhaseTimerTests {
    @Test func timingsAreKeyedByThePhasesNamesAndAPhaseMeasuredTwiceIsOneEntry() async throws {
        let timer = PhaseTimer()
        try await timer.measure(.fetch) { try await Task.sleep(for: .milliseconds(20)) }
        await timer.measure(.detect) {}
        // A pipeline's own fetch (a hot build's running slug) adds to the shared one.
        try await timer.measure(.fetch) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(timer.phases.map(\.phase) == [.fetch, .detect])
        #expect(Set(timer.milliseconds.keys) == ["fetch", "detect"])
        #expect(try #require(timer.milliseconds["fetch"]) >= 40)
    }

    @Test func aFailingPhaseIsStillTimed() async throws {
        let timer = PhaseTimer()
        await #expect(throws: BuildFailure.self) {
            try await timer.measure(.compile) { throw BuildFailure("bin/compile exited 1") }
        }
        #expect(timer.phases.map(\.phase) == [.compile])
    }

    @Test func theRecordsPhaseOrderKeepsItsNames() {
        // Clients and docs read these keys: a renamed case would break them.
        #expect(Build.phases == ["queue", "fetch", "detect", "restore", "compile", "save", "pack", "sign", "upload", "image", "release", "handoff"])
    }
}
