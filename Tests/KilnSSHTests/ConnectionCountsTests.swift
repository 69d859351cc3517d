@testable import KilnSSH
import Testing

/// The SSH server's bounds, as it counts them: connections in all and per
/// address, sessions per key, and the credit that paces git's input.
@Suite struct ConnectionCountsTests {
    @Test func connectionsAreCappedInAllAndPerAddressAndGiveTheirSlotBack() {
        var limits = SSHServer.Limits()
        limits.connections = 3
        limits.connectionsPerAddress = 2
        let counts = ConnectionCounts()
        #expect(counts.admit(address: "10.0.0.1", limits: limits))
        #expect(counts.admit(address: "10.0.0.1", limits: limits))
        #expect(!counts.admit(address: "10.0.0.1", limits: limits), "a third from one address")
        #expect(counts.admit(address: "10.0.0.2", limits: limits))
        #expect(!counts.admit(address: "10.0.0.3", limits: limits), "a fourth in all")
        counts.release(address: "10.0.0.1")
        #expect(counts.admit(address: "10.0.0.3", limits: limits))
        #expect(!counts.admit(address: "10.0.0.1", limits: limits), "still full in all")
    }

    @Test func sessionsAreCappedPerKeyOverAllItsConnections() {
        var limits = SSHServer.Limits()
        limits.sessionsPerKey = 2
        let counts = ConnectionCounts()
        #expect(counts.open(session: "SHA256:a", limits: limits))
        #expect(counts.open(session: "SHA256:a", limits: limits))
        #expect(!counts.open(session: "SHA256:a", limits: limits))
        #expect(counts.open(session: "SHA256:b", limits: limits), "another key has its own")
        counts.close(session: "SHA256:a")
        #expect(counts.open(session: "SHA256:a", limits: limits))
    }

    @Test func moreInputIsReadOnlyOnceGitTookAllItWasGiven() {
        let credit = InputCredit()
        credit.add()
        credit.add()
        #expect(!credit.take(), "one buffer still waits for git")
        #expect(credit.take(), "all taken: read more")
    }
}
