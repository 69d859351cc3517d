import NIOCore
import NIOPosix
import Synchronization

/// An app's stable port: a TCP listener on 127.0.0.1 that joins each
/// connection it accepts to the app's current web process. The process is
/// chosen when the connection is accepted, so a swap sends every later
/// connection to the new process while the earlier ones finish with the old.
/// With no process, a connection is closed at once.
final class StableProxy: Sendable {
    let port: Int
    private let listener: any Channel
    private let target: Target

    /// The current backend, taken and counted in one step so that a swap
    /// cannot let a connection through to a backend it has already drained.
    final class Target: Sendable {
        private let current = Mutex<ProxyBackend?>(nil)

        func acquire() -> ProxyBackend? {
            current.withLock { backend in
                backend?.opened()
                return backend
            }
        }

        func replace(with backend: ProxyBackend?) -> ProxyBackend? {
            current.withLock { current in
                defer { current = backend }
                return current
            }
        }

        var backend: ProxyBackend? { current.withLock { $0 } }
    }

    private init(port: Int, listener: any Channel, target: Target) {
        self.port = port
        self.listener = listener
        self.target = target
    }

    /// Listens on `host:port`. Throws when the port is taken.
    static func listen(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> StableProxy {
        let target = Target()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { inbound in
                // Failing the initializer closes the connection: there is no process to send it to.
                guard let backend = target.acquire() else { return inbound.eventLoop.makeFailedFuture(NoBackend()) }
                inbound.closeFuture.whenComplete { _ in backend.closed() }
                ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.autoRead, value: false)
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .connect(host: "127.0.0.1", port: backend.port)
                    .whenComplete { result in
                        switch result {
                        case .success(let outbound):
                            // The backend's side ends with the client's, even when the client left while the
                            // connect was pending (no handler of the pair then closes it). Not `isActive`: the
                            // connect can succeed before the accepted channel is active.
                            inbound.closeFuture.whenComplete { _ in outbound.close(promise: nil) }
                            let (client, server) = GlueHandler.matchedPair()
                            do {
                                try inbound.pipeline.syncOperations.addHandler(client)
                                try outbound.pipeline.syncOperations.addHandler(server)
                                try inbound.syncOptions?.setOption(.autoRead, value: true)
                                try outbound.syncOptions?.setOption(.autoRead, value: true)
                            } catch {
                                outbound.close(promise: nil)
                                inbound.close(promise: nil)
                            }
                        case .failure:
                            // The process is gone: the client sees its connection closed.
                            inbound.close(promise: nil)
                        }
                    }
                return inbound.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: host, port: port)
            .get()
        return StableProxy(port: port, listener: listener, target: target)
    }

    /// Sends connections accepted from now on to `backend` (none when `nil`); returns the one before.
    func swap(to backend: ProxyBackend?) -> ProxyBackend? {
        target.replace(with: backend)
    }

    var backend: ProxyBackend? { target.backend }

    /// Stops listening; open connections are left to finish.
    func close() async {
        try? await listener.close()
    }
}

struct NoBackend: Error {}
