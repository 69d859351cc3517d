import ArgumentParser
import Foundation
import KilnAgent
import KilnClient
import KilnSigning

/// `kiln release-agent`: the reference release service. It takes the farm's
/// release hand-offs and runs each app's web process on this host behind a
/// stable port (docs/slug-protocol.md, "The reference release service").
struct ReleaseAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release-agent",
        abstract: "Take release hand-offs and run each app's web process on this host behind a stable port.",
        discussion: """
            Point an app's release webhook here (`kiln apps set --app APP --release-webhook http://HOST:PORT/releases \
            --release-webhook-secret S`, the same S as --secret). Each hand-off is checked, answered 202 and deployed: \
            the slug fetched and checked against the farm's signed manifest, started in the sandbox on a private port, \
            swapped in behind the app's stable port once it answers, the previous process stopped after its connections \
            finish. GET /apps/APP shows an app; GET /apps/APP/deploys?after=N&wait=SECONDS waits for its next outcomes.
            """)

    @Option(help: "HOST:PORT to take hand-offs and queries on (no TLS: keep it on loopback or a private network).") var listen: String = "127.0.0.1:5000"
    @Option(help: "The apps' release-webhook secret: checks hand-offs (X-Kiln-Signature) and signs status reports.") var secret: String
    @Option(help: "The agent's directory: state.json, taken idempotency keys, and each app's port and releases (APP/vN).") var appsDir: String
    @Option(help: "The farm's public keys (PEM), obtained once from a trusted place (`kiln farm-keys public --all`).") var publicKey: String
    @Option(help: "The farm server to ask, at each hand-off, which farm keys are revoked.") var revocationsFrom: String?
    @Flag(help: "Ask no server which keys are revoked, and trust every key in --public-key (a revoked key left in it still verifies).") var offline = false
    @Option(help: "An app's stable port, APP=PORT (repeatable); other apps take the first free port of --port-range.") var appPort: [String] = []
    @Option(help: "The ports stable ports are taken from, FIRST-LAST.") var portRange: String = "5100-5199"
    @Option(help: "How long a new web process has to answer HTTP on its port: 120, 90s, 5m.") var bootTimeout: TimeSpan = TimeSpan(argument: "120s")!
    @Flag(help: "Pull images without TLS verification (a registry on loopback).") var insecureRegistry = false
    @Option(help: "A variable for an app's processes, APP:NAME=VALUE (repeatable), beneath the config vars of its releases (tests, and a node's distribution settings).")
    var appEnv: [String] = []
    @Option(help: "The unprivileged user web processes run as (when the agent runs as root).") var runUser: String = "kiln-build"
    @Option(help: "The largest slug downloaded (e.g. 2GB).") var maxSlugSize: ByteSize = ByteSize(argument: "4GiB")!
    @OptionGroup var logs: LogOptions

    func validate() throws {
        guard offline != (revocationsFrom != nil) else {
            throw ValidationError(offline
                ? "give --revocations-from or --offline, not both"
                : "cannot learn which farm keys were revoked: pass --revocations-from http://FARM:PORT (the farm's server), or --offline to trust every key in --public-key as it is")
        }
        _ = try address()
        _ = try ports()
        _ = try range()
        _ = try environment()
    }

    func run() async throws {
        let logger = KilnLogging.bootstrap(format: logs.logFormat)
        let (host, port) = try address()
        let pem = publicKey
        // Fails at once on an unreadable key file rather than at the first hand-off.
        _ = try FarmPublicKey.all(pem: try String(contentsOfFile: pem, encoding: .utf8))
        let revocations = try revocationsFrom.map { text -> KilnClient in
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("--revocations-from \(text) is not an http(s) URL of the farm's server")
            }
            return KilnClient(server: url, token: nil)
        }
        let configuration = AgentConfiguration(
            host: host, port: port, secret: secret, appsDirectory: URL(fileURLWithPath: appsDir).standardizedFileURL,
            trustedKeys: { try await FarmKeySource.pinned(pem, revocationsFrom: revocations) },
            appPorts: try ports(), portRange: try range(), bootTimeout: .seconds(bootTimeout.seconds), insecureRegistry: insecureRegistry,
            appEnvironment: try environment(), runUser: runUser, maxSlugBytes: maxSlugSize.bytes)
        try await ReleaseAgent(configuration: configuration, logger: logger).run()
    }

    func address() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port),
              colon != listen.startIndex else {
            throw ValidationError("--listen \(listen) is not HOST:PORT")
        }
        return (String(listen[..<colon]), port)
    }

    func ports() throws -> [String: Int] {
        var ports: [String: Int] = [:]
        for entry in appPort {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ValidationError("--app-port \(entry) is not APP=PORT")
            }
            ports[parts[0]] = port
        }
        return ports
    }

    func range() throws -> ClosedRange<Int> {
        let parts = portRange.split(separator: "-").map { Int($0) }
        guard parts.count == 2, let first = parts[0], let last = parts[1], 1 <= first, first <= last, last <= 65535 else {
            throw ValidationError("--port-range \(portRange) is not FIRST-LAST, e.g. 5100-5199")
        }
        return first...last
    }

    func environment() throws -> [String: [String: String]] {
        var environment: [String: [String: String]] = [:]
        for entry in appEnv {
            guard let colon = entry.firstIndex(of: ":"), let equals = entry[colon...].firstIndex(of: "="), colon != entry.startIndex,
                  entry.index(after: colon) != equals else {
                throw ValidationError("--app-env \(entry) is not APP:NAME=VALUE")
            }
            environment[String(entry[..<colon]), default: [:]][String(entry[entry.index(after: colon)..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return environment
    }
}
