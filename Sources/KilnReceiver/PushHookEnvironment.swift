import Foundation
import KilnBlobStore
import KilnDownload
import KilnHome
import KilnS3

/// What the receiver hands to the pre-receive hook through git, as
/// environment variables: the hook runs in a process git starts.
public struct PushHookEnvironment: Sendable, Equatable {
    public var app: String
    public var databaseURL: String
    public var home: String
    /// `KILN-CLEAN: true` (or `GIGALIXIR-CLEAN`) on the push.
    public var clean: Bool
    /// `KILN-HOT: true` (or `GIGALIXIR-HOT`) on the push.
    public var hot: Bool
    /// The farm's object store, when it has one (its credentials are the
    /// server's own AWS_* variables, which the hook inherits).
    public var s3: S3Settings?
    /// Most bytes one pushed file may have (`kiln server --max-push-file-size`).
    public var maxFileSize: Int64 = 512 << 20
    /// What the hook may fetch (submodules), as the server was told.
    public var fetchPolicy: FetchPolicy
    /// Who pushed, when the transport knows more than the app (`SSH key SHA256:…`); shown to the pusher.
    public var pusher: String?

    public init(app: String, databaseURL: String, home: String, clean: Bool, hot: Bool, s3: S3Settings? = nil, fetchPolicy: FetchPolicy = FetchPolicy()) {
        self.app = app
        self.databaseURL = databaseURL
        self.home = home
        self.clean = clean
        self.hot = hot
        self.s3 = s3
        self.fetchPolicy = fetchPolicy
    }

    /// The variables to set for git.
    public var variables: [String: String] {
        ["KILN_APP": app, "KILN_DATABASE_URL": databaseURL, "KILN_HOME": home,
         "KILN_CLEAN": clean ? "true" : "false", "KILN_HOT": hot ? "true" : "false",
         "KILN_BLOB_STORE": s3?.url ?? "", "KILN_S3_ENDPOINT": s3?.endpoint ?? "", "KILN_S3_REGION": s3?.region ?? "",
         "KILN_MAX_FILE_SIZE": "\(maxFileSize)",
         "KILN_FETCH_POLICY": (try? JSONEncoder().encode(fetchPolicy)).map { String(decoding: $0, as: UTF8.self) } ?? ""]
    }

    /// The push options git hands the hook (`GIT_PUSH_OPTION_COUNT`, `GIT_PUSH_OPTION_N`),
    /// lowercased; `kiln-clean=true` counts as `kiln-clean`, `kiln-clean=false` as nothing.
    static func pushOptions(_ environment: [String: String]) -> Set<String> {
        let count = min(environment["GIT_PUSH_OPTION_COUNT"].flatMap(Int.init) ?? 0, 64)
        var options = Set<String>()
        for index in 0..<max(count, 0) {
            guard let option = environment["GIT_PUSH_OPTION_\(index)"]?.lowercased() else { continue }
            if let equals = option.firstIndex(of: "=") {
                if option[option.index(after: equals)...] == "true" { options.insert(String(option[..<equals])) }
            } else {
                options.insert(option)
            }
        }
        return options
    }

    /// Where the hook writes the pushed source.
    public func blobStorage() throws -> BlobStorage {
        try BlobStorage.open(directory: KilnHome(path: home).blobs, s3: s3)
    }

    /// Reads them back in the hook; the error says which is missing.
    public init(from environment: [String: String]) throws {
        func value(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw ReceiverError("\(name) is not set: this hook runs only inside a push to the Kiln receiver")
            }
            return value
        }
        app = try value("KILN_APP")
        databaseURL = try value("KILN_DATABASE_URL")
        home = try value("KILN_HOME")
        // An HTTP header (`KILN-CLEAN: true`) or a push option (`git push -o kiln-clean`), which git passes to the hook.
        let options = Self.pushOptions(environment)
        clean = environment["KILN_CLEAN"] == "true" || options.contains("kiln-clean") || options.contains("gigalixir-clean")
        hot = environment["KILN_HOT"] == "true" || options.contains("kiln-hot") || options.contains("gigalixir-hot")
        if let size = environment["KILN_MAX_FILE_SIZE"].flatMap(Int64.init) { maxFileSize = size }
        pusher = environment["KILN_PUSHER"].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        // Without it the hook fetches as strictly as a farm started without fetch options.
        if let policy = environment["KILN_FETCH_POLICY"], !policy.isEmpty {
            do {
                fetchPolicy = try JSONDecoder().decode(FetchPolicy.self, from: Data(policy.utf8))
            } catch {
                throw ReceiverError("KILN_FETCH_POLICY is not a fetch policy (\(error)): this hook runs only inside a push to the Kiln receiver")
            }
        } else {
            fetchPolicy = FetchPolicy()
        }
        if let store = environment["KILN_BLOB_STORE"], !store.isEmpty {
            s3 = try S3Settings(url: store, endpoint: environment["KILN_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 },
                                region: environment["KILN_S3_REGION"].flatMap { $0.isEmpty ? nil : $0 }, environment: environment)
        }
    }
}
