import CKilnCurl
import Foundation

/// One transfer through libcurl, the only way Kiln speaks HTTP from a
/// worker or a server: downloads of buildpacks and source archives (a size
/// cap, redirects, every address checked), release webhooks, and S3
/// requests (SigV4, bodies streamed from and to file descriptors).
public struct CurlRequest: Sendable {
    /// What the request sends.
    public enum Body: Sendable {
        case none
        case data(Data)
        /// `length` bytes of the open file `descriptor` from `offset`.
        case file(descriptor: Int32, offset: Int64, length: Int64)
    }

    public var method: String
    public var url: String
    /// "Name: value" each.
    public var headers: [String]
    public var body: Body
    /// A 2xx answer's body (or a file's) is written here; `nil` keeps it in
    /// memory (at most 1 MiB). Other answers' bodies are always kept in memory.
    public var download: Int32?
    /// libcurl's protocol list: "http,https", or "file" for an operator's local file.
    public var protocols = "http,https"
    /// Redirects followed (only to http and https), at most.
    public var maxRedirects = 0
    /// Bytes of the answer accepted, at most.
    public var maxBytes: Int64?
    /// Asked before every connection, redirects' included, with the
    /// address's bytes (4 or 16, network order); `false` refuses it. With a
    /// check, no proxy is used.
    public var addressCheck: (@Sendable ([UInt8]) -> Bool)?
    /// AWS SigV4: libcurl's scope ("aws:amz:REGION:s3") and "ACCESS_KEY:SECRET".
    public var awsSigV4: (scope: String, credentials: String)?
    public var connectTimeout: Duration = .seconds(10)
    /// Aborts when fewer than 1 KiB a second pass for this long.
    public var stallTimeout: Duration?
    /// Aborts the whole transfer after this long.
    public var timeout: Duration?

    public init(_ method: String, _ url: String, headers: [String] = [], body: Body = .none, download: Int32? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.download = download
    }

    /// Performs the transfer; throws ``CurlFailure`` when no answer came.
    /// Any answer, whatever its status, is returned. Blocks the calling thread.
    public func perform() throws(CurlFailure) -> CurlResponse {
        var payload = Data()
        if case .data(let data) = body { payload = data }
        let check = addressCheck.map(CheckBox.init)
        // The C request borrows these strings for the length of the call.
        let strings = CStrings()
        var response = withExtendedLifetime((check, strings)) {
            payload.withUnsafeBytes { bytes in
                var request = kiln_curl_request()
                request.method = strings.add(method)
                request.url = strings.add(url)
                request.headers = strings.add(headers.joined(separator: "\n"))
                request.protocols = strings.add(protocols)
                request.max_redirects = maxRedirects
                request.max_bytes = maxBytes ?? 0
                if let check {
                    request.check = { address, length, context in
                        guard let address, let context else { return 0 }
                        let box = Unmanaged<CheckBox>.fromOpaque(context).takeUnretainedValue()
                        return box.check(Array(UnsafeBufferPointer(start: address, count: Int(length)))) ? 1 : 0
                    }
                    request.check_context = Unmanaged.passUnretained(check).toOpaque()
                }
                request.aws_sigv4 = awsSigV4.flatMap { strings.add($0.scope) }
                request.user_password = awsSigV4.flatMap { strings.add($0.credentials) }
                request.body = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                request.body_length = bytes.count
                request.upload_fd = -1
                if case .file(let descriptor, let offset, let length) = body {
                    request.upload_fd = descriptor
                    request.upload_offset = offset
                    request.upload_length = length
                }
                request.download_fd = download ?? -1
                request.connect_timeout_seconds = Self.seconds(connectTimeout)
                request.stall_seconds = stallTimeout.map(Self.seconds) ?? 0
                request.timeout_seconds = timeout.map(Self.seconds) ?? 0
                return kiln_curl_perform(&request)
            }
        }
        defer { kiln_curl_release(&response) }
        return try Self.answer(response)
    }

    /// The response as Swift values, or the failure it reports.
    static func answer(_ response: kiln_curl_response) throws(CurlFailure) -> CurlResponse {
        let message = withUnsafeBytes(of: response.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch response.code {
        case 0:
            let etag = withUnsafeBytes(of: response.etag) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return CurlResponse(status: response.http_status, etag: etag, contentLength: response.content_length >= 0 ? response.content_length : nil,
                                body: response.answer.map { Data(bytes: $0, count: response.answer_length) } ?? Data(), bytes: response.bytes)
        case Int32(KILN_CURL_REFUSED):
            let address = withUnsafeBytes(of: response.refused) { Array($0.prefix(Int(response.refused_length))) }
            throw CurlFailure(kind: .refused(address), message: message)
        case Int32(KILN_CURL_OVER_LIMIT):
            throw CurlFailure(kind: .overLimit, message: message)
        default:
            throw CurlFailure(kind: response.local_error != 0 ? .local : .transport, message: message)
        }
    }

    /// Whole seconds, at least one: libcurl's timeouts take seconds, and 0 would mean none.
    static func seconds(_ duration: Duration) -> Int {
        max(1, Int(duration.components.seconds))
    }
}

/// An answer: its status (0 for a file), the headers that matter, and its
/// body unless it went to the download descriptor.
public struct CurlResponse: Sendable {
    public var status: Int
    /// The ETag header, quotes included; empty when there was none.
    public var etag: String
    public var contentLength: Int64?
    public var body: Data
    /// Bytes written to the download descriptor.
    public var bytes: Int64

    /// Whether the status is 2xx, or the transfer was no HTTP one (a file).
    public var succeeded: Bool { status == 0 || (200..<300).contains(status) }
}

/// A transfer that got no answer, and why.
public struct CurlFailure: Error, CustomStringConvertible, Sendable {
    /// Why no answer came.
    public enum Kind: Sendable, Equatable {
        /// The network failed: refused, reset, timed out, stalled. Retrying may help.
        case transport
        /// This host's own file could not be read or written (a full disk): retrying over the network would not help.
        case local
        /// The answer passed ``CurlRequest/maxBytes``.
        case overLimit
        /// The address check refused to connect to this address (4 or 16 bytes).
        case refused([UInt8])
    }

    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// C copies of the strings a request passes to libcurl, freed with it.
private final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []

    func add(_ text: String) -> UnsafePointer<CChar>? {
        guard let copy = strdup(text) else { return nil }
        owned.append(copy)
        return UnsafePointer(copy)
    }

    deinit { owned.forEach { free($0) } }
}

/// The address check, where libcurl's C callback reaches it through a context pointer; immutable, so sharing it is safe.
private final class CheckBox: Sendable {
    let check: @Sendable ([UInt8]) -> Bool
    init(_ check: @escaping @Sendable ([UInt8]) -> Bool) { self.check = check }
}
