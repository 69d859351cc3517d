import Foundation
@testable import KilnAgent
import KilnProcess
import KilnTestSupport
import Testing

/// The stable port's proxy with real HTTP servers behind it (Python's, with
/// keep-alive): a swap sends later connections to the new server while an
/// open one finishes on the old, and the old one's drain is an event.
@Suite struct StableProxyTests {
    /// An HTTP/1.1 server on `port` answering every GET with `text`.
    static func server(port: Int, text: String) -> Command {
        Command("python3", ["-c", """
            import http.server, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = 'HTTP/1.1'
                def do_GET(self):
                    body = sys.argv[2].encode()
                    self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
                def log_message(self, *args): pass
            http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
            """, "\(port)", text])
    }

    /// `count` GETs of the stable port one after another, with `swap` run after the first `swapAfter`; each body, or "failed".
    static func load(_ port: Int, count: Int, swapAfter: Int, swap: @Sendable () -> Void) async throws -> [String] {
        var bodies: [String] = []
        for index in 0..<count {
            if index == swapAfter { swap() }
            let outcome = try await Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(port)/"]).run()
            bodies.append(outcome.succeeded ? outcome.output : "failed")
        }
        return bodies
    }

    @Test func connectionsAcceptedBeforeASwapFinishOnTheOldProcessAndLaterOnesReachTheNew() async throws {
        let one = try KilnFarm.freePort(), two = try KilnFarm.freePort(), stable = try KilnFarm.freePort()
        try await withRunning([Self.server(port: one, text: "one"), Self.server(port: two, text: "two")]) {
            try await KilnFarm.waitForListener("http://127.0.0.1:\(one)/")
            try await KilnFarm.waitForListener("http://127.0.0.1:\(two)/")
            let proxy = try await StableProxy.listen(host: "127.0.0.1", port: stable)
            // No process yet: the connection is closed at once.
            #expect(try await !Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(stable)/"]).run().succeeded)

            let first = ProxyBackend(port: one), second = ProxyBackend(port: two)
            #expect(proxy.swap(to: first) == nil)
            let held = try await HeldConnection.open(port: stable)
            #expect(try await held.get() == "one")
            #expect(first.liveConnections == 1)

            let bodies = try await Self.load(stable, count: 40, swapAfter: 15) { _ = proxy.swap(to: second) }
            #expect(!bodies.contains("failed"), "\(bodies)")
            #expect(bodies.prefix(15).allSatisfy { $0 == "one" } && bodies.dropFirst(15).allSatisfy { $0 == "two" }, "\(bodies)")

            // The connection opened before the swap still reaches the old server, which stays in use until it closes.
            #expect(try await held.get() == "one")
            #expect(await first.drained(within: .milliseconds(300)) == false)
            held.close()
            #expect(await first.drained(within: .seconds(10)))
            #expect(await second.drained(within: .seconds(10)))
            #expect(first.liveConnections == 0 && second.liveConnections == 0)

            _ = proxy.swap(to: nil)
            #expect(try await !Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(stable)/"]).run().succeeded)
            await proxy.close()
        }
    }
}

/// A kept-alive HTTP/1.1 connection made by hand, to hold a proxied connection open across a swap.
final class HeldConnection: Sendable {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    static func open(port: Int) async throws -> HeldConnection {
        try await onThread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard connected else { _ = Glibc.close(fd); throw TestSetupError("cannot connect to \(port)") }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return HeldConnection(descriptor: fd)
        }
    }

    /// One GET on this connection; the answer's body.
    func get() async throws -> String {
        let fd = descriptor
        return try await onThread {
            let request = Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
            guard send(fd, request, request.count, 0) == request.count else { throw TestSetupError("cannot send") }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let text = String(decoding: received, as: UTF8.self)
                if let split = text.range(of: "\r\n\r\n"),
                   let length = text[..<split.lowerBound].firstMatch(of: /Content-Length: (\d+)/)?.1, let bytes = Int(length),
                   text[split.upperBound...].utf8.count >= bytes {
                    return String(text[split.upperBound...])
                }
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { throw TestSetupError("the connection closed or timed out after \(text.debugDescription)") }
                received += buffer.prefix(count)
            }
        }
    }

    func close() { _ = Glibc.close(descriptor) }
}
