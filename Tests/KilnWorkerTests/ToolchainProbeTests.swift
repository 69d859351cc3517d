import Foundation
import KilnSandbox
import KilnTestSupport
import Testing
@testable import KilnWorker

/// A cache rule's toolchain commands answer for the system builds run on:
/// the host's for `host`, the stack's own (run in the sandbox on its root) otherwise.
@Suite struct ToolchainProbeTests {
    @Test func aStacksToolchainIsAskedOnTheStackAndTheHostsOnTheHost() async throws {
        let stack = try StackDirectory(try await TestStack.directory()).stack(named: TestStack.name)
        let user = try? SandboxUser.named("kiln-build")
        let probe = ToolchainProbe(user: user)
        let command = "command -v git || echo no-git"
        #expect(await probe.output(of: command, on: stack) == "no-git")
        #expect(await probe.output(of: command, on: .host) == "/usr/bin/git")
    }
}
