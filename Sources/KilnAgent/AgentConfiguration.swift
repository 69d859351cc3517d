import Foundation
import KilnSigning

/// What `kiln release-agent` was started with.
public struct AgentConfiguration: Sendable {
    /// Where hand-offs and the operators' queries arrive (127.0.0.1 by default).
    public var host: String
    public var port: Int
    /// The apps' release-webhook secret: it checks hand-offs and signs status reports.
    public var secret: String
    /// The farm server's URL (no trailing slash): a hand-off's slug, config and
    /// status URLs must be of it, and revocations are asked of it.
    public var farm: String
    /// The agent's own directory: state, taken idempotency keys, each app's ports and releases.
    public var appsDirectory: URL
    /// The farm keys to verify a hand-off's manifest with, asked once per hand-off
    /// (so that a revocation is seen at the next one). Throws when they cannot be learned.
    public var trustedKeys: @Sendable () async throws -> TrustedFarmKeys
    /// Stable ports chosen by the operator (`--app-port APP=PORT`).
    public var appPorts: [String: Int]
    /// Where the stable ports of the other apps are taken from, first free first.
    public var portRange: ClosedRange<Int>
    /// How long a new web process has to answer HTTP on its port.
    public var bootTimeout: Duration
    /// Pull images without TLS verification (a test registry on loopback).
    public var insecureRegistry: Bool
    /// Variables set for an app's processes beneath its config vars (`--app-env APP:NAME=VALUE`).
    public var appEnvironment: [String: [String: String]]
    /// The account web processes run as when the agent runs as root.
    public var runUser: String
    /// The largest slug downloaded.
    public var maxSlugBytes: Int64
    /// The largest image pulled, by the layer and config sizes its manifest declares.
    public var maxImageBytes: Int64
    /// How long an old process's open connections may take to finish after a swap.
    public var drainTimeout: Duration

    /// The defaults are `kiln release-agent`'s: stable ports from 5100-5199, 120 s to boot, 4 GiB slugs and images, 30 s to drain.
    public init(host: String = "127.0.0.1", port: Int, secret: String, farm: String, appsDirectory: URL,
                trustedKeys: @escaping @Sendable () async throws -> TrustedFarmKeys,
                appPorts: [String: Int] = [:], portRange: ClosedRange<Int> = 5100...5199, bootTimeout: Duration = .seconds(120),
                insecureRegistry: Bool = false, appEnvironment: [String: [String: String]] = [:], runUser: String = "kiln-build",
                maxSlugBytes: Int64 = 4 << 30, maxImageBytes: Int64 = 4 << 30, drainTimeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.secret = secret
        self.farm = farm.hasSuffix("/") ? String(farm.dropLast()) : farm
        self.appsDirectory = appsDirectory
        self.trustedKeys = trustedKeys
        self.appPorts = appPorts
        self.portRange = portRange
        self.bootTimeout = bootTimeout
        self.insecureRegistry = insecureRegistry
        self.appEnvironment = appEnvironment
        self.runUser = runUser
        self.maxSlugBytes = maxSlugBytes
        self.maxImageBytes = maxImageBytes
        self.drainTimeout = drainTimeout
    }
}
