import Foundation
import KilnCurl

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
        var request = CurlRequest("GET", target, download: descriptor)
        request.protocols = protocols
        request.maxRedirects = maxRedirects
        request.maxBytes = maxBytes
        request.connectTimeout = policy.connectTimeout
        request.timeout = timeout
        let addressGuard = policy.addressGuard
        request.addressCheck = { bytes in IPAddress(bytes: bytes).map { addressGuard.refusal(of: $0) == nil } ?? false }
        let response: CurlResponse
        do {
            response = try request.perform()
        } catch {
            if case .refused(let bytes) = error.kind, let address = IPAddress(bytes: bytes) {
                throw addressGuard.refusedError(address, kind: addressGuard.refusal(of: address) ?? "not allowed", url: url)
            }
            throw DownloadError("cannot download \(url): \(error.message)")
        }
        guard response.succeeded else { throw DownloadError("cannot download \(url): the server answered HTTP \(response.status)") }
        return response.bytes
    }
}

/// A download that failed; the message names the URL and the cause.
public struct DownloadError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
