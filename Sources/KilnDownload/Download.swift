import CKilnCurl
import Foundation

/// Fetches a URL (https, http or file) into a file with libcurl, within a
/// size and a time limit: buildpack tarballs and source archives, whose
/// size a stranger decides.
public struct Download: Sendable {
    public var maxBytes: Int64
    public var timeout: Duration

    public init(maxBytes: Int64, timeout: Duration = .seconds(300)) {
        self.maxBytes = maxBytes
        self.timeout = timeout
    }

    /// Writes `url`'s content to `destination` (created or truncated);
    /// returns its size. Blocks the calling thread.
    public func fetch(_ url: String, to destination: URL) throws -> Int64 {
        guard let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased(), ["http", "https", "file"].contains(scheme) else {
            throw DownloadError("cannot download \(url): only https, http and file URLs are fetched")
        }
        let descriptor = open(destination.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DownloadError("cannot create \(destination.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let result = kiln_curl_download(url, descriptor, maxBytes, Int(timeout.components.seconds))
        guard result.code == 0 else {
            let message = withUnsafeBytes(of: result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw DownloadError("cannot download \(url): \(message)")
        }
        return result.bytes
    }
}

/// A download that failed; the message names the URL and the cause.
public struct DownloadError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
