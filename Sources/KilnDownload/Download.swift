import CKilnCurl
import Foundation

/// Fetches a URL (https or http; file only inside the operator's
/// directories) into a file with libcurl, within a size cap, a connect
/// timeout and a total timeout, connecting only where the policy's address
/// guard allows — the first connection and every redirect's alike:
/// buildpack tarballs and source archives, whose URL and size a stranger decides.
public struct Download: Sendable {
    public var maxBytes: Int64
    public var timeout: Duration
    public var policy: FetchPolicy
    /// Redirects followed at most (each to http or https, each address checked).
    public var maxRedirects = 5

    public init(maxBytes: Int64, timeout: Duration? = nil, policy: FetchPolicy) {
        self.maxBytes = maxBytes
        self.timeout = timeout ?? policy.timeout
        self.policy = policy
    }

    /// Writes `url`'s content to `destination` (created or truncated);
    /// returns its size. Throws ``FetchRefused`` for a URL or address the
    /// policy refuses, ``DownloadError`` when the fetch fails. Blocks the calling thread.
    public func fetch(_ url: String, to destination: URL) throws -> Int64 {
        let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased() ?? ""
        var target = url
        let protocols: String
        switch scheme {
        case "http", "https":
            protocols = "http,https"
        case "file":
            // Checked after resolving links, then read at the resolved path, which no link can redirect.
            target = URL(fileURLWithPath: try policy.localPath(of: url)).absoluteString
            protocols = "file"
        default:
            throw FetchRefused("cannot download \(url): only https and http URLs are fetched (file URLs only inside a directory the operator lists with --buildpack-dir)")
        }
        let descriptor = open(destination.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DownloadError("cannot create \(destination.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let check = GuardBox(policy.addressGuard)
        let result = withExtendedLifetime(check) {
            protocols.withCString { protocolList in
                var options = kiln_curl_download_options(
                    protocols: protocolList,
                    connect_timeout_seconds: Int(max(1, policy.connectTimeout.components.seconds)),
                    timeout_seconds: Int(max(1, timeout.components.seconds)),
                    max_redirects: maxRedirects, max_bytes: maxBytes,
                    check: { address, length, context in
                        guard let address, let context else { return 0 }
                        let check = Unmanaged<GuardBox>.fromOpaque(context).takeUnretainedValue()
                        guard let ip = IPAddress(bytes: Array(UnsafeBufferPointer(start: address, count: Int(length)))) else { return 0 }
                        return check.addressGuard.refusal(of: ip) == nil ? 1 : 0
                    },
                    check_context: Unmanaged.passUnretained(check).toOpaque())
                return kiln_curl_download(target, descriptor, &options)
            }
        }
        if result.refused_length > 0, result.code != 0 {
            let bytes = withUnsafeBytes(of: result.refused) { Array($0.prefix(Int(result.refused_length))) }
            if let address = IPAddress(bytes: bytes) {
                let kind = policy.addressGuard.refusal(of: address) ?? "not allowed"
                throw policy.addressGuard.refusedError(address, kind: kind, url: url)
            }
        }
        guard result.code == 0 else {
            let message = withUnsafeBytes(of: result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw DownloadError("cannot download \(url): \(message)")
        }
        return result.bytes
    }
}

/// The address guard, where libcurl's C callback can reach it through a
/// context pointer; immutable, so sharing it is safe.
private final class GuardBox: Sendable {
    let addressGuard: AddressGuard
    init(_ addressGuard: AddressGuard) { self.addressGuard = addressGuard }
}

/// A download that failed; the message names the URL and the cause.
public struct DownloadError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
