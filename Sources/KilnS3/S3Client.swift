import Crypto
import Foundation
import KilnCurl
import Metrics

/// Signed requests to an S3-compatible store with libcurl's built-in AWS
/// SigV4, retried with backoff on 5xx answers, throttling and transport
/// failures. Bodies stream from and to file descriptors: an object is never
/// held in memory. Blocks the calling thread.
public struct S3Client: Sendable {
    public let settings: S3Settings
    /// Called before each retry with what failed: for logs and tests.
    let onRetry: @Sendable (String) -> Void

    public init(settings: S3Settings, onRetry: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.onRetry = onRetry
    }

    /// The hash of an empty payload, which SigV4 signs for bodiless requests.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// What a request sends.
    enum Body {
        case none
        case data(Data)
        /// `length` bytes of the open file `descriptor` from `offset`, whose
        /// SHA-256 is `sha256` (or `nil`: sent as an unsigned payload).
        case file(descriptor: Int32, offset: Int64, length: Int64, sha256: String?)
    }

    /// An answer: its status, headers that matter, and its body unless it went to a file.
    struct Answer {
        var status: Int
        var etag: String
        var contentLength: Int64?
        var body: Data
        var bytes: Int64

        /// S3's `<Code>` and `<Message>` of an error answer.
        var s3Error: (code: String, message: String)? {
            let text = String(decoding: body, as: UTF8.self)
            guard let code = Self.element("Code", in: text) else { return nil }
            return (code, Self.element("Message", in: text) ?? "")
        }

        static func element(_ name: String, in text: String) -> String? {
            guard let start = text.range(of: "<\(name)>"), let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex) else { return nil }
            return String(text[start.upperBound..<end.lowerBound])
        }
    }

    /// One attempt at a request; a transport failure throws a retryable error.
    /// `stall: nil` keeps the settings' stall timeout; `.zero` turns it off (with `timeout` as the bound instead).
    func attempt(_ method: String, key: String, query: String? = nil, body: Body = .none,
                 into download: Int32? = nil, headers extra: [String] = [], stall: Duration? = nil, timeout: Duration? = nil) throws -> Answer {
        var headers = extra
        switch body {
        case .none: headers.append("x-amz-content-sha256: \(Self.emptyPayloadHash)")
        case .data(let data): headers.append("x-amz-content-sha256: \(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())")
        case .file(_, _, _, let sha256): headers.append("x-amz-content-sha256: \(sha256 ?? "UNSIGNED-PAYLOAD")")
        }
        if let token = settings.sessionToken { headers.append("x-amz-security-token: \(token)") }
        let url = settings.objectURL(key, query: query)
        var request = CurlRequest(method, url, headers: headers, download: download)
        switch body {
        case .none: break
        case .data(let data): request.body = .data(data)
        case .file(let descriptor, let offset, let length, _): request.body = .file(descriptor: descriptor, offset: offset, length: length)
        }
        request.awsSigV4 = ("aws:amz:\(settings.region):s3", "\(settings.accessKey):\(settings.secretKey)")
        request.stallTimeout = stall == .zero ? nil : (stall ?? settings.stallTimeout)
        request.timeout = timeout
        let started = ContinuousClock.now
        defer { Metrics.Timer(label: "kiln_blob_store_seconds", dimensions: [("operation", method)]).record(duration: ContinuousClock.now - started) }
        let response: CurlResponse
        do {
            response = try request.perform()
        } catch {
            Counter(label: "kiln_blob_store_errors_total", dimensions: [("operation", method)]).increment()
            // This host's own file failed (a full disk): retrying over the network would not help.
            if error.kind == .local { throw S3Error("\(method) \(url): \(error.message)") }
            throw TransportFailure(message: "\(method) \(url): \(error.message)")
        }
        if response.status >= 500 {
            Counter(label: "kiln_blob_store_errors_total", dimensions: [("operation", method)]).increment()
        }
        return Answer(status: response.status, etag: response.etag, contentLength: response.contentLength, body: response.body, bytes: response.bytes)
    }

    /// A request that got no answer (refused, reset, stalled).
    struct TransportFailure: Error {
        let message: String
    }

    /// Runs `request` until it gets an answer that is not worth retrying, at
    /// most `settings.attempts` times, waiting `backoff`, then twice as long…
    /// `prepare` runs before each try (to rewind a download's file).
    func withRetries(_ what: String, prepare: () throws -> Void = {}, _ request: () throws -> Answer) throws -> Answer {
        var wait = settings.backoff
        var tries = 0
        while true {
            tries += 1
            try prepare()
            let failure: String
            do {
                let answer = try request()
                guard Self.isRetryable(answer), tries < settings.attempts else { return answer }
                failure = "HTTP \(answer.status)\(answer.s3Error.map { " \($0.code)" } ?? "")"
            } catch let error as TransportFailure {
                guard tries < settings.attempts else {
                    throw S3Error("cannot \(what) in \(settings.url) after \(tries) tries: \(error.message)")
                }
                failure = error.message
            }
            onRetry("\(what): \(failure); retrying in \(wait)")
            Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
            wait = min(wait * 2, .seconds(20))
        }
    }

    /// 5xx answers, throttling, and S3's own "your upload was too slow".
    static func isRetryable(_ answer: Answer) -> Bool {
        answer.status >= 500 || answer.status == 429 || (answer.status == 400 && answer.s3Error?.code == "RequestTimeout")
    }

    /// The error for an answer that is not a success, with what to do about it.
    func failure(_ what: String, _ answer: Answer) -> S3Error {
        let s3 = answer.s3Error
        let said = s3.map { "\($0.code): \($0.message)" } ?? "HTTP \(answer.status)"
        let advice: String
        switch s3?.code {
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed", "ExpiredToken", "InvalidToken":
            advice = "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and --s3-region"
        case "AccessDenied":
            advice = "the credentials work but may not use the bucket \(settings.bucket): grant them s3:GetObject, s3:PutObject and s3:ListBucket"
        case "NoSuchBucket":
            advice = "create the bucket \(settings.bucket), or correct --blob-store and --s3-endpoint"
        default:
            advice = answer.status >= 500 ? "the store is failing: it was retried \(settings.attempts) times" : "the store refused the request"
        }
        return S3Error("cannot \(what) in \(settings.url): \(said) (\(advice))", code: s3?.code, status: answer.status)
    }

    /// Creates the bucket; one that is already there and ours is fine.
    public func createBucket() throws {
        let answer = try withRetries("create the bucket") { try attempt("PUT", key: "") }
        guard (200...299).contains(answer.status) || answer.s3Error?.code == "BucketAlreadyOwnedByYou" else {
            throw failure("create the bucket \(settings.bucket)", answer)
        }
    }
}
