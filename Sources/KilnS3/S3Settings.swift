import Foundation

/// Where an S3-compatible store is and how to sign for it: from
/// `--blob-store s3://BUCKET/PREFIX --s3-endpoint URL --s3-region R` and the
/// usual `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
public struct S3Settings: Sendable, Equatable {
    public var bucket: String
    /// Key prefix without leading or trailing slash; may be empty.
    public var prefix: String
    /// The endpoint (`http://127.0.0.1:9000`, MinIO, Ceph…), addressed path-style;
    /// `nil`: AWS itself, addressed as `https://BUCKET.s3.REGION.amazonaws.com`.
    public var endpoint: String?
    public var region: String
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?
    /// Blobs above this size go up in parts (S3 takes at most 5 GB in one PUT).
    public var multipartThreshold: Int64 = 64 << 20
    /// The size of each part but the last (S3's minimum is 5 MiB).
    public var partSize: Int64 = 16 << 20
    /// Tries per request, for 5xx answers, throttling and transport failures.
    public var attempts = 5
    /// The wait before the first retry; it doubles for each further one.
    public var backoff: Duration = .milliseconds(250)
    /// A transfer slower than 1 KB/s for this long is abandoned (and retried).
    public var stallTimeout: Duration = .seconds(30)

    public init(bucket: String, prefix: String = "", endpoint: String? = nil, region: String = "us-east-1",
                accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        var endpoint = endpoint
        while endpoint?.hasSuffix("/") == true { endpoint?.removeLast() }
        self.endpoint = endpoint
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }

    /// Parses `s3://BUCKET/PREFIX` and reads the credentials from `environment`.
    public init(url: String, endpoint: String?, region: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard url.hasPrefix("s3://") else {
            throw S3Error("--blob-store \(url) is not understood: give s3://BUCKET/PREFIX, or leave it out for the directory under --home")
        }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard (3...63).contains(bucket.count), bucket.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 46 }) else {
            throw S3Error("\(url) does not name a valid bucket: 3 to 63 lowercase letters, digits, dots and hyphens")
        }
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], !accessKey.isEmpty,
              let secretKey = environment["AWS_SECRET_ACCESS_KEY"], !secretKey.isEmpty else {
            throw S3Error("the blob store \(url) needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        if let endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw S3Error("--s3-endpoint \(endpoint) is not an http(s) URL")
        }
        self.init(bucket: bucket, prefix: String(rest.dropFirst(bucket.count)), endpoint: endpoint,
                  region: region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1",
                  accessKey: accessKey, secretKey: secretKey, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `s3://BUCKET/PREFIX`.
    public var url: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// The URL of `key` in the bucket (the bucket itself for an empty key).
    func objectURL(_ key: String, query: String? = nil) -> String {
        let path = key.split(separator: "/", omittingEmptySubsequences: false).map { S3Settings.escape(String($0)) }.joined(separator: "/")
        let base: String
        if let endpoint {
            base = key.isEmpty ? "\(endpoint)/\(bucket)" : "\(endpoint)/\(bucket)/\(path)"
        } else if bucket.contains(".") {
            // AWS's certificate covers one label before .s3.REGION: a dotted bucket goes path-style.
            base = key.isEmpty ? "https://s3.\(region).amazonaws.com/\(bucket)" : "https://s3.\(region).amazonaws.com/\(bucket)/\(path)"
        } else {
            base = "https://\(bucket).s3.\(region).amazonaws.com/\(path)"
        }
        return query.map { "\(base)?\($0)" } ?? base
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 wants.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                escaped.append(Character(Unicode.Scalar(byte)))
            default:
                escaped += String(format: "%%%02X", byte)
            }
        }
        return escaped
    }
}
