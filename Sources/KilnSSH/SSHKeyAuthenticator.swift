import KilnCatalog
import Logging
import NIOCore
import NIOSSH
import Synchronization

/// Public-key authentication for one SSH connection: a key is let in when
/// some app has it (`kiln keys add --ssh`); which app it may use is decided
/// per command (``KilnReceiver/GitSSHAccess``). NIOSSH has checked the
/// client's signature before asking. Passwords and keyboard-interactive are
/// never offered.
final class SSHKeyAuthenticator: NIOSSHServerUserAuthenticationDelegate, Sendable {
    let catalog: Catalog
    let logger: Logger
    let remote: String
    /// The fingerprint of the key that authenticated, once one has.
    let identity = Mutex<String?>(nil)

    init(catalog: Catalog, logger: Logger, remote: String) {
        self.catalog = catalog
        self.logger = logger
        self.remote = remote
    }

    var supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods { .publicKey }

    var fingerprint: String? { identity.withLock { $0 } }

    func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        guard case .publicKey(let offer) = request.request,
              let key = try? SSHPublicKey(parsing: String(openSSHPublicKey: offer.publicKey)) else {
            responsePromise.succeed(.failure)
            return
        }
        let catalog = catalog, logger = logger, remote = remote
        Task {
            do {
                guard try await !catalog.sshKeyApps(fingerprint: key.fingerprint).isEmpty else {
                    logger.notice("ssh key refused: no app has it", metadata: ["fingerprint": "\(key.fingerprint)", "remote": "\(remote)"])
                    responsePromise.succeed(.failure)
                    return
                }
                self.identity.withLock { $0 = key.fingerprint }
                responsePromise.succeed(.success)
            } catch {
                logger.error("ssh key lookup failed", metadata: ["fingerprint": "\(key.fingerprint)", "error": "\(error)"])
                responsePromise.succeed(.failure)
            }
        }
    }
}
