import Foundation
import KilnCatalog
import KilnReceiver
import Logging
import NIOCore
import NIOPosix
import NIOSSH
import ServiceLifecycle
import Synchronization

/// Kiln's own SSH server (swift-nio-ssh), for `git push ssh://git@HOST:PORT/APP.git`:
/// public-key authentication only (Ed25519 and ECDSA keys some app has),
/// session channels only, and in them `git-receive-pack` or
/// `git-upload-pack` of one app's repository, nothing else. A service of
/// the server's group: it stops accepting on graceful shutdown.
public struct SSHServer: Service {
    /// The bounds one server keeps, whatever its clients do.
    public struct Limits: Sendable {
        /// Connections at once; more are closed as they arrive.
        public var connections = 256
        /// Session channels one connection may have open at once.
        public var sessionsPerConnection = 4
        /// How long a connection may take to authenticate.
        public var authenticationTime: TimeAmount = .seconds(30)
        /// Failed authentication attempts before the connection is dropped.
        public var authenticationAttempts = 6
        /// Connections one client address may have at once.
        public var connectionsPerAddress = 16
        /// Sessions one key may have open at once, over all its connections
        /// (each is a git process, and a push's hook holds a database connection).
        public var sessionsPerKey = 8
        /// How long an authenticated connection may stay without a session.
        public var idleTime: TimeAmount = .seconds(120)
        public init() {}
    }

    let host: String
    let port: Int
    let hostKeys: SSHHostKeys
    let catalog: Catalog
    let access: GitSSHAccess
    let limits: Limits
    let logger: Logger

    public init(host: String, port: Int, hostKeys: SSHHostKeys, catalog: Catalog, access: GitSSHAccess, limits: Limits = Limits(), logger: Logger) {
        self.host = host
        self.port = port
        self.hostKeys = hostKeys
        self.catalog = catalog
        self.access = access
        self.limits = limits
        self.logger = logger
    }

    public func run() async throws {
        let counts = ConnectionCounts()
        let hostKeys = hostKeys.keys.map(\.privateKey), catalog = catalog, access = access, limits = limits, logger = logger
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // A peer that vanished without a word gives its slot back.
            .childChannelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                let address = channel.remoteAddress?.ipAddress ?? "?"
                guard counts.admit(address: address, limits: limits) else {
                    logger.warning("ssh connection refused: too many at once", metadata: ["remote": "\(address)", "limit": "\(limits.connections) in all, \(limits.connectionsPerAddress) per address"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in counts.release(address: address) }
                let authenticator = SSHKeyAuthenticator(catalog: catalog, logger: logger, remote: address)
                let sessions = NIOLoopBoundBox(0, eventLoop: channel.eventLoop)
                let idleSince = NIOLoopBoundBox(NIODeadline.now(), eventLoop: channel.eventLoop)
                // Authenticate in time, then keep a session open, or go: an idle client holds no slot for long.
                channel.eventLoop.scheduleTask(in: limits.authenticationTime) {
                    if authenticator.fingerprint == nil { channel.close(promise: nil) }
                }
                let idleCheck = channel.eventLoop.scheduleRepeatedTask(initialDelay: limits.idleTime, delay: .seconds(10)) { _ in
                    if sessions.value == 0, NIODeadline.now() - idleSince.value >= limits.idleTime { channel.close(promise: nil) }
                }
                channel.closeFuture.whenComplete { _ in idleCheck.cancel() }
                return channel.eventLoop.makeCompletedFuture {
                    var configuration = SSHServerConfiguration(hostKeys: hostKeys, userAuthDelegate: authenticator)
                    configuration.maxAuthAttempts = limits.authenticationAttempts
                    let handler = NIOSSHHandler(role: .server(configuration), allocator: channel.allocator) { child, type in
                        // Sessions only: no port forwarding of any kind.
                        guard case .session = type, let fingerprint = authenticator.fingerprint,
                              sessions.value < limits.sessionsPerConnection, counts.open(session: fingerprint, limits: limits) else {
                            return child.eventLoop.makeFailedFuture(SSHServerError("only git sessions are served, \(limits.sessionsPerKey) at once per key"))
                        }
                        sessions.value += 1
                        child.closeFuture.whenComplete { _ in
                            counts.close(session: fingerprint)
                            sessions.value -= 1
                            if sessions.value == 0 { idleSince.value = .now() }
                        }
                        return child.eventLoop.makeCompletedFuture {
                            try child.pipeline.syncOperations.addHandler(GitSessionHandler(access: access, fingerprint: fingerprint, logger: logger))
                        }
                    }
                    try channel.pipeline.syncOperations.addHandlers([handler, ConnectionErrorHandler(logger: logger)])
                }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw SSHServerError("cannot serve SSH on \(host):\(port) (\(error)): is another server on that port? Choose another with --ssh-port, or turn SSH off with kiln up --no-ssh")
        }
        logger.info("ssh listening", metadata: ["address": "\(host):\(port)",
                                                "host_keys": "\(self.hostKeys.keys.map { "\($0.fingerprint) (\($0.type))" }.joined(separator: ", "))"])
        // Stops on graceful shutdown, and when cancelled: a group whose other service failed must not wait on this one.
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await listener.closeFuture.get()
            } onGracefulShutdown: {
                listener.close(promise: nil)
            }
        } onCancel: {
            listener.close(promise: nil)
        }
    }
}

/// Closes a connection whose SSH handling failed (a protocol error, a
/// client that broke off); the log says why, at debug: strangers' scans are common.
final class ConnectionErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("ssh connection closed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

/// The server's connections by client address and its sessions by key,
/// against ``SSHServer/Limits``.
final class ConnectionCounts: Sendable {
    private struct Counts {
        var connections = 0
        var byAddress: [String: Int] = [:]
        var sessionsByKey: [String: Int] = [:]
    }
    private let counts = Mutex(Counts())

    func admit(address: String, limits: SSHServer.Limits) -> Bool {
        counts.withLock { counts in
            guard counts.connections < limits.connections, counts.byAddress[address, default: 0] < limits.connectionsPerAddress else { return false }
            counts.connections += 1
            counts.byAddress[address, default: 0] += 1
            return true
        }
    }

    func release(address: String) {
        counts.withLock { counts in
            counts.connections -= 1
            counts.byAddress[address, default: 1] -= 1
            if counts.byAddress[address] == 0 { counts.byAddress[address] = nil }
        }
    }

    func open(session key: String, limits: SSHServer.Limits) -> Bool {
        counts.withLock { counts in
            guard counts.sessionsByKey[key, default: 0] < limits.sessionsPerKey else { return false }
            counts.sessionsByKey[key, default: 0] += 1
            return true
        }
    }

    func close(session key: String) {
        counts.withLock { counts in
            counts.sessionsByKey[key, default: 1] -= 1
            if counts.sessionsByKey[key] == 0 { counts.sessionsByKey[key] = nil }
        }
    }
}
