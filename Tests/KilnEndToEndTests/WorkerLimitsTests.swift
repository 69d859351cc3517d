import Foundation
import KilnDatabase
import KilnProcess
import KilnQueue
import KilnTestSupport
import Testing

/// A worker that cannot enforce its build limits takes no build, unless the
/// operator says so, and then the farm can see it. Made real here by running
/// the worker as an unprivileged user, who may write no control group.
@Suite struct WorkerLimitsTests {
    @Test func aWorkerThatCannotEnforceItsLimitsRefusesToStartUnlessToldAndThenShowsAsUnlimited() async throws {
        let database = try await TestEnvironment.freshDatabase()
        let home = try TestEnvironment.temporaryDirectory("unlimited")
        let nobody = try #require(getpwnam("nobody")?.pointee)
        chown(home.path, nobody.pw_uid, nobody.pw_gid)
        var refused = Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path, "--name", "w-limited"])
        refused.user = (nobody.pw_uid, nobody.pw_gid)
        let outcome = try await refused.run(limit: 1 << 20)
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("this worker cannot enforce the build limits it was given"), "\(outcome.output)")
        #expect(outcome.output.contains("--unlimited-builds"), "\(outcome.output)")

        var allowed = Command(TestEnvironment.binary, ["worker", "--database-url", database.text, "--home", home.path, "--name", "w-unlimited", "--unlimited-builds"])
        allowed.user = (nobody.pw_uid, nobody.pw_gid)
        try await withRunning([allowed]) {
            var found: WorkerRecord?
            for _ in 0..<300 where found == nil {
                found = try await Database.with(url: database, logger: TestEnvironment.logger) { try await WorkerRegistry(database: $0).workers() }
                    .first { $0.name == "w-unlimited" }
                if found == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let worker = try #require(found, "the worker never registered")
            #expect(worker.unlimited)
            #expect(worker.limits.hasPrefix("not enforced: "), "\(worker.limits)")
        }
    }
}
