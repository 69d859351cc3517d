import Foundation
import KilnSandbox
import KilnTestSupport
import Testing

/// Each promise the build sandbox makes, tried from inside it with real
/// bubblewrap, setpriv and cgroups.
@Suite struct SandboxTests {
    let user = try? SandboxUser.named("kiln-build")

    func sandbox(network: Bool = false, limits: SandboxLimits = SandboxLimits()) throws -> (Sandbox, URL) {
        let app = try TestEnvironment.temporaryDirectory("sandbox-app")
        if let user { try user.own(app) }
        return (Sandbox(mounts: [SandboxMount(host: app, inside: "/app", writable: true)], network: network, user: user, limits: limits), app)
    }

    func shell(_ sandbox: Sandbox, _ script: String) async throws -> (SandboxOutcome, String) {
        try await sandbox.capture("/bin/bash", ["-c", script], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/app")
    }

    @Test func aBuildRunsUnprivilegedSeesNoKilnStateAndWritesOnlyItsOwnDirectories() async throws {
        // Kiln's home, with a root-only key, beside the build directory on the host.
        let home = try TestEnvironment.temporaryDirectory("sandbox-home")
        let key = home.appendingPathComponent("farm.key")
        try "secret-signing-key".write(to: key, atomically: true, encoding: .utf8)
        chmod(key.path, 0o600)
        let (sandbox, app) = try sandbox()
        // The same key placed inside a mounted directory: the uid, not only the mount, keeps it out.
        let planted = app.appendingPathComponent("planted.key")
        try FileManager.default.copyItem(at: key, to: planted)
        chown(planted.path, 0, 0)
        chmod(planted.path, 0o600)

        let (outcome, output) = try await shell(sandbox, """
            echo "uid=$(id -u)"
            cat \(key.path) 2>/dev/null && echo "READ KEY"
            cat /app/planted.key 2>/dev/null && echo "READ PLANTED"
            ls \(home.path) 2>/dev/null && echo "SAW HOME"
            touch /usr/kiln-escape 2>/dev/null && echo "WROTE USR"
            touch /etc/kiln-escape 2>/dev/null && echo "WROTE ETC"
            touch /kiln-escape 2>/dev/null && echo "WROTE ROOT"
            echo built > /app/out.txt && echo "WROTE APP"
            echo private > /tmp/kiln-sandbox-private-\(app.lastPathComponent) && echo "WROTE TMP"
            """)
        #expect(outcome.succeeded, "\(output)")
        #expect(output.contains("uid=\(user?.uid ?? getuid())"))
        if getuid() == 0 { #expect(!output.contains("uid=0")) }
        for escape in ["READ KEY", "READ PLANTED", "SAW HOME", "WROTE USR", "WROTE ETC", "WROTE ROOT"] {
            #expect(!output.contains(escape), "\(output)")
        }
        #expect(output.contains("WROTE APP") && output.contains("WROTE TMP"))
        #expect(try String(contentsOf: app.appendingPathComponent("out.txt"), encoding: .utf8) == "built\n")
        // Its /tmp was its own.
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kiln-sandbox-private-\(app.lastPathComponent)"))
    }

    @Test func theNetworkIsOffUnlessTheAppAllowsIt() async throws {
        let listener = try LoopbackListener()
        let probe = "exec 3<>/dev/tcp/127.0.0.1/\(listener.port) && echo CONNECTED || echo REFUSED"
        let (closed, closedOutput) = try await shell(try sandbox(network: false).0, probe)
        #expect(closed.succeeded)
        #expect(closedOutput.contains("REFUSED"), "\(closedOutput)")
        let (open, openOutput) = try await shell(try sandbox(network: true).0, probe)
        #expect(open.succeeded)
        #expect(openOutput.contains("CONNECTED"), "\(openOutput)")
    }

    @Test func aForkBombHitsTheProcessLimitAndTheWholeTreeIsKilled() async throws {
        let (sandbox, _) = try sandbox(limits: SandboxLimits(wallTime: .seconds(60), processes: 64))
        let (outcome, _) = try await shell(sandbox, "bomb() { bomb | bomb & }; bomb; sleep 30")
        #expect(outcome.limit == .processes(64))
        #expect(!outcome.succeeded)
    }

    @Test func aBuildOverItsWallTimeIsStoppedWithItsBackgroundJobs() async throws {
        let (sandbox, app) = try sandbox(limits: SandboxLimits(wallTime: .seconds(1)))
        let started = ContinuousClock.now
        // A background job that leaves a file every 0.2 s for as long as it lives.
        let (outcome, _) = try await shell(sandbox, "(n=0; while :; do n=$((n+1)); touch /app/alive-$n; sleep 0.2; done) & sleep 60")
        #expect(outcome.limit == .wallTime(.seconds(1)))
        // Stopped, not finished: the script alone takes 60 s. (How soon after
        // the limit is a matter of load, which a test does not measure.)
        #expect(ContinuousClock.now - started < .seconds(55))
        // The background job went with it: no file appears after the stop.
        func marks() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: app.path).filter { $0.hasPrefix("alive-") }.count
        }
        let atStop = try marks()
        try await Task.sleep(for: .seconds(5))
        #expect(try marks() == atStop, "the build's background job outlived the build")
    }

    @Test func aBuildOverItsMemoryIsKilledAndTheLimitNamed() async throws {
        let (sandbox, _) = try sandbox(limits: SandboxLimits(wallTime: .seconds(60), memoryBytes: 64 << 20))
        let (outcome, output) = try await shell(sandbox, "/usr/bin/python3 -c 'b = bytearray(512 << 20); b[::4096] = b\"x\" * len(b[::4096]); print(\"ALLOCATED\")'")
        #expect(outcome.limit == .memory(bytes: 64 << 20), "\(output)")
        #expect(!output.contains("ALLOCATED"))
    }

    @Test func aBuildThatFloodsItsLogIsStoppedAtTheLogLimit() async throws {
        let (sandbox, _) = try sandbox(limits: SandboxLimits(wallTime: .seconds(60), outputBytes: 256 << 10))
        let (outcome, output) = try await shell(sandbox, "yes 'a line of a runaway build'")
        #expect(outcome.limit == .output(bytes: 256 << 10))
        #expect(output.utf8.count <= 300 << 10)
        #expect(outcome.limit?.description == "log size limit of 256 KiB reached")
    }
}

/// A TCP socket listening on the host's loopback, to be reached (or not) from a sandbox.
final class LoopbackListener: @unchecked Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound, listen(descriptor, 16) == 0 else { throw TestSetupError("cannot listen on 127.0.0.1") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
