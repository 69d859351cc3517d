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
            --release-webhook-secret S`, the same S as --secret-file's). Each hand-off is checked, answered 202 and deployed: \
            the slug fetched and checked against the farm's signed manifest, started in the sandbox on a private port, \
            swapped in behind the app's stable port once it answers, the previous process stopped after its connections \
            finish. GET /apps/APP shows an app; GET /apps/APP/deploys?after=N&wait=SECONDS waits for its next outcomes.
            """)

    @Option(help: "HOST:PORT to take hand-offs and queries on (no TLS: keep it on loopback or a private network).") var listen: String = "127.0.0.1:5000"
    @Option(help: "A file holding the apps' release-webhook secret (one line; keep it 0600): checks hand-offs (X-Kiln-Signature) and signs status reports. Without it or --secret, KILN_AGENT_SECRET.")
    var secretFile: String?
    @Option(help: "The secret itself; it shows in `ps` to every local user: prefer --secret-file or KILN_AGENT_SECRET.") var secret: String?
    @Option(help: "The agent's directory: state.json, taken idempotency keys, and each app's port and releases (APP/vN).") var appsDir: String
    @Option(help: "The farm's public keys (PEM), obtained once from a trusted place (`kiln farm-keys public --all`).") var publicKey: String
    @Option(help: "The farm server's URL (its public URL): a hand-off's slug, config and status URLs must be its, and it is asked at each hand-off which farm keys are revoked.")
    var farm: String
    @Flag(help: "Ask --farm nothing about revoked keys, and trust every key in --public-key (a revoked key left in it still verifies).") var offline = false
    @Option(help: "An app's stable port, APP=PORT (repeatable); other apps take the first free port of --port-range.") var appPort: [String] = []
    @Option(help: "The ports stable ports are taken from, FIRST-LAST.") var portRange: String = "5100-5199"
    @Option(help: "How long a new web process has to answer HTTP on its port: 120, 90s, 5m.") var bootTimeout: TimeSpan = TimeSpan(argument: "120s")!
    @Flag(help: "Pull images without TLS verification (a registry on loopback).") var insecureRegistry = false
    @Option(help: "A variable for an app's processes, APP:NAME=VALUE (repeatable), beneath the config vars of its releases. It shows in `ps`: pass secrets as the app's config vars.")
    var appEnv: [String] = []
    @Option(help: "The unprivileged user web processes run as (when the agent runs as root).") var runUser: String = "kiln-build"
    @Option(help: "The largest slug downloaded (e.g. 2GB).") var maxSlugSize: ByteSize = ByteSize(argument: "4GiB")!
    @Option(help: "The largest image pulled, by the sizes its manifest declares (e.g. 2GB).") var maxImageSize: ByteSize = ByteSize(argument: "4GiB")!
    @OptionGroup var logs: LogOptions

    func validate() throws {
        if secret != nil, secretFile != nil { throw ValidationError("give --secret-file or --secret, not both") }
        _ = try farmURL()
        _ = try readSecret()
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
        let farm = try farmURL()
        let revocations = offline ? nil : KilnClient(server: farm, token: nil)
        let configuration = AgentConfiguration(
            host: host, port: port, secret: try readSecret(), farm: farm.absoluteString, appsDirectory: URL(fileURLWithPath: appsDir).standardizedFileURL,
            trustedKeys: { try await FarmKeySource.pinned(pem, revocationsFrom: revocations) },
            appPorts: try ports(), portRange: try range(), bootTimeout: .seconds(bootTimeout.seconds), insecureRegistry: insecureRegistry,
            appEnvironment: try environment(), runUser: runUser, maxSlugBytes: maxSlugSize.bytes, maxImageBytes: maxImageSize.bytes)
        try await ReleaseAgent(configuration: configuration, logger: logger).run()
    }

    /// `--farm` without a trailing slash, an http(s) URL with a host and no query.
    func farmURL() throws -> URL {
        let text = farm.hasSuffix("/") ? String(farm.dropLast()) : farm
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil, url.query == nil, url.fragment == nil else {
            throw ValidationError("--farm \(farm) is not an http(s) URL of the farm's server, e.g. https://kiln.example")
        }
        return url
    }

    /// The secret: --secret-file's first line, else --secret, else KILN_AGENT_SECRET.
    func readSecret() throws -> String {
        var text: String
        if let secretFile {
            do {
                // Its first line, without the line's end.
                text = String(try String(contentsOfFile: secretFile, encoding: .utf8).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                if text.hasSuffix("\r") { text.removeLast() }
            } catch {
                throw ValidationError("--secret-file \(secretFile) cannot be read: \(error.localizedDescription)")
            }
        } else if let secret {
            text = secret
        } else if let environment = ProcessInfo.processInfo.environment["KILN_AGENT_SECRET"] {
            text = environment
        } else {
            throw ValidationError("no secret: pass --secret-file FILE (the apps' release-webhook secret), or set KILN_AGENT_SECRET")
        }
        guard !text.isEmpty else { throw ValidationError("the secret is empty\(secretFile.map { " (\($0))" } ?? "")") }
        return text
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
