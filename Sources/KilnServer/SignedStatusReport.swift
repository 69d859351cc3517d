/// Proof that a deploy status report's raw body was signed with its app's
/// release-webhook secret (``StatusSignatureMiddleware``). It authorises one
/// operation of one app, reporting that app's deploy status, and nothing
/// else: it is no key and grants nothing a key would.
struct SignedStatusReport: Sendable, Equatable {
    let app: String
    let operationID: String
    /// The SHA-256 (hex) of the request's `X-Kiln-Signature`, which the catalog takes once.
    let signature: String

    /// The proof of the request being handled, set only by ``StatusSignatureMiddleware``.
    @TaskLocal static var current: SignedStatusReport?
}
