import Foundation
import Crypto

/// The SHA-256 of a blob, the name it is stored under.
public struct BlobDigest: Hashable, Sendable, Codable, CustomStringConvertible {
    /// 64 lowercase hex digits.
    public let hex: String

    /// Accepts 64 hex digits, with or without a `sha256:` prefix; `nil` for anything else.
    public init?(_ text: String) {
        let hex = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        self.hex = hex
    }

    init(_ digest: SHA256.Digest) {
        hex = digest.map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "sha256:\(hex)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = BlobDigest(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text) is not a sha256 digest"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}


extension BlobDigest {
    /// The digest of a file's content, read in 1 MiB chunks. Blocks on I/O.
    public static func of(file: URL) throws -> BlobDigest {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw BlobStoreError("cannot read \(file.path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return BlobDigest(hasher.finalize())
    }
}
