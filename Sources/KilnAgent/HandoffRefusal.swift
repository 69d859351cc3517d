/// Why a hand-off was refused before it was taken: answered 4xx (or 503 when
/// the farm's revocations cannot be learned, so that Kiln sends it again), with
/// this message, and never deployed.
public struct HandoffRefusal: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable code, answered beside the message.
    public enum Code: String, Sendable {
        /// No, a malformed or a non-matching `X-Kiln-Signature`: altered, or not from the farm.
        case badSignature
        /// Correctly signed, but outside the 300 s window: a replay, or a clock that is off.
        case stale
        /// Not a hand-off this agent can read.
        case malformedBody
        /// The manifest was signed by a key the agent does not hold.
        case unknownKey
        /// The manifest was signed by a revoked farm key.
        case revokedKey
        /// The manifest's signature does not verify, or it does not match the hand-off.
        case badManifest
        /// A slug, config or status URL that is not the farm's (`--farm`) route for this release.
        case foreignURL
        /// The farm's revocations could not be learned: try again later.
        case keysUnavailable
    }

    public let code: Code
    public let message: String

    /// A refusal with its code and the message answered.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The HTTP status it is answered with.
    public var status: Int {
        switch code {
        case .badSignature, .stale: 401
        case .keysUnavailable: 503
        case .malformedBody, .unknownKey, .revokedKey, .badManifest, .foreignURL: 422
        }
    }
}
