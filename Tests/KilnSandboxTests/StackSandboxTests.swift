import Foundation
import KilnSandbox
import KilnTestSupport
import Testing

/// The sandbox on a real stack (the tests' `bookworm-min`): the stack's
/// root is the system, read-only, with nothing of the host's `/usr` or
/// `/etc`; and what ``StackDirectory`` refuses to take as a stack.
@Suite struct StackSandboxTests {
    let user = try? SandboxUser.named("kiln-build")

    func run(_ stack: Stack, network: Bool = false, _ script: String) async throws -> (SandboxOutcome, String) {
        let app = try TestEnvironment.temporaryDirectory("stack-app")
        if let user { try user.own(app) }
        let sandbox = Sandbox(mounts: [SandboxMount(host: app, inside: "/app", writable: true)], network: network, user: user, stack: stack)
        return try await sandbox.capture("/bin/bash", ["-c", script], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/app")
    }

    @Test func aStacksRootIsTheSystemReadOnlyAndTheHostsIsNotThere() async throws {
        let stack = try StackDirectory(try await TestStack.directory()).stack(named: TestStack.name)
        #expect(stack.heroku == TestStack.heroku)
        #expect(stack.runImage == "registry.invalid/stacks/bookworm-min")
        let (outcome, output) = try await run(stack, """
            cat /etc/apt/sources.list
            command -v git || echo "no git"
            touch /usr/bin/x 2>/dev/null && echo "wrote /usr" || echo "usr read-only"
            touch /etc/x 2>/dev/null && echo "wrote /etc" || echo "etc read-only"
            touch /var/lib/x 2>/dev/null && echo "wrote /var" || echo "var read-only"
            touch /var/tmp/x && echo "var/tmp writable"
            ls /run/systemd 2>/dev/null || echo "no host run"
            """)
        #expect(outcome.succeeded, "\(output)")
        #expect(output.contains("deb http://deb.debian.org/debian bookworm main"), "\(output)")
        #expect(output.contains("no git"), "\(output)")
        for part in ["usr read-only", "etc read-only", "var read-only", "var/tmp writable", "no host run"] {
            #expect(output.contains(part), "\(part): \(output)")
        }
    }

    @Test func withTheNetworkTheHostsResolverIsBoundOverTheStacks() async throws {
        let stack = try StackDirectory(try await TestStack.directory()).stack(named: TestStack.name)
        let host = try String(contentsOf: URL(fileURLWithPath: "/etc/resolv.conf").resolvingSymlinksInPath(), encoding: .utf8)
        let (_, online) = try await run(stack, network: true, "cat /etc/resolv.conf; echo END")
        #expect(online == host + "END\n", "\(online)")
        let (_, offline) = try await run(stack, network: false, "cat /etc/resolv.conf; echo END")
        #expect(offline == "END\n", "\(offline)")
    }

    @Test func aStackDirectoryRefusesWhatABuildUserCouldChangeAndNamesWhatItHas() throws {
        let directory = try TestEnvironment.temporaryDirectory("stacks")
        func make(_ name: String, conf: String) throws -> URL {
            let base = directory.appendingPathComponent(name)
            for sub in ["root/usr", "root/etc"] {
                try FileManager.default.createDirectory(at: base.appendingPathComponent(sub), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            }
            chmod(base.appendingPathComponent("root").path, 0o755)
            _ = FileManager.default.createFile(atPath: base.appendingPathComponent("root/etc/resolv.conf").path, contents: Data())
            try conf.write(to: base.appendingPathComponent("stack.conf"), atomically: true, encoding: .utf8)
            chmod(base.appendingPathComponent("stack.conf").path, 0o644)
            return base
        }
        _ = try make("good", conf: "# made by hand\nheroku = heroku-22\nrun-image = registry.example/stacks/good\nmade = 20250101T000000Z\n")
        let writable = try make("writable", conf: "heroku = heroku-24\n")
        chmod(writable.appendingPathComponent("root").path, 0o777)
        _ = try make("undeclared", conf: "run-image = x\n")
        _ = try make("not-heroku", conf: "heroku = ubuntu-22\n")

        let stacks = StackDirectory(directory)
        #expect(stacks.available() == ["host", "good"])
        let good = try stacks.stack(named: "good")
        #expect(good.heroku == "heroku-22" && good.made == "20250101T000000Z" && good.runImage == "registry.example/stacks/good")
        #expect(try stacks.stack(named: "host") == .host)
        #expect(throws: StackError.self) { try stacks.stack(named: "writable") }
        let problems = stacks.problems().joined(separator: "\n")
        #expect(problems.contains("may be written by its group or others: chmod go-w"), "\(problems)")
        #expect(problems.contains("has no `heroku = heroku-22`"), "\(problems)")
        #expect(problems.contains("heroku = ubuntu-22 is not a Heroku stack name"), "\(problems)")
        do {
            _ = try stacks.stack(named: "missing")
            Issue.record("a missing stack loaded")
        } catch {
            #expect("\(error)".contains("there is no stack missing on this worker: it has host, good"), "\(error)")
        }
    }
}
