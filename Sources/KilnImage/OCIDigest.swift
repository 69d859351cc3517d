import Crypto
import Foundation

/// Digests as OCI writes them: `sha256:` and 64 lowercase hex digits.
enum OCIDigest {
    static func of(_ data: Data) -> String {
        "sha256:" + hex(SHA256.hash(data: data))
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
