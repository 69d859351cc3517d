import Foundation

/// What the farm may fetch for a build, and within which limits: the address
/// guard's allowed ranges, the local directories file URLs may read, the git
/// protocols beyond https, and the timeouts and size caps of every fetch.
/// The strict default (`FetchPolicy()`) fetches https and http tarballs and
/// https git from public addresses only, and reads no local path.
public struct FetchPolicy: Sendable, Equatable, Codable {
    /// git transports an operator may add to https (`--allow-git-protocols`).
    public enum GitProtocol: String, Sendable, Codable, CaseIterable {
        case http, ssh, git
    }

    /// Ranges the address guard lets through (`--allow-fetch-from`).
    public var allowedRanges: [CIDR]
    /// Directories `file://` buildpacks (and submodules) may be read from (`--buildpack-dir`), as the operator wrote them.
    public var localDirectories: [String]
    /// git transports allowed besides https.
    public var gitProtocols: Set<GitProtocol>
    /// Longest a connection may take to be made.
    public var connectTimeout: Duration = .seconds(20)
    /// Longest one fetch (a download, a git command) may run in all.
    public var timeout: Duration = .seconds(600)
    /// git gives up on a transfer slower than `lowSpeedLimit` bytes a second for `lowSpeedTime`.
    public var lowSpeedLimit = 1024
    public var lowSpeedTime: Duration = .seconds(60)
    /// Most bytes a git repository may grow to by one fetch (its objects), and a checkout may take.
    public var maxGitBytes: Int64 = 1 << 30

    public init(allowedRanges: [CIDR] = [], localDirectories: [String] = [], gitProtocols: Set<GitProtocol> = []) {
        self.allowedRanges = allowedRanges
        self.localDirectories = localDirectories
        self.gitProtocols = gitProtocols
    }

    /// Parses `--allow-git-protocols` values (`ssh,git`, repeatable); the error names an unknown one.
    public static func gitProtocols(_ values: [String]) throws -> Set<GitProtocol> {
        var protocols: Set<GitProtocol> = []
        for name in values.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
            if name == "https" { continue }
            guard let known = GitProtocol(rawValue: name) else {
                throw FetchConfigurationError("'\(name)' is not a git protocol Kiln can allow: name http, ssh or git (https is always allowed; file URLs need --buildpack-dir)")
            }
            protocols.insert(known)
        }
        return protocols
    }

    public var addressGuard: AddressGuard { AddressGuard(allowing: allowedRanges) }

    /// The real path a `file://` URL names, when it lies (after resolving
    /// every link) inside one of `localDirectories`. Throws ``FetchRefused``
    /// naming the URL and the directories otherwise.
    public func localPath(of url: String) throws -> String {
        let path = String(url.dropFirst("file://".count))
        guard url.lowercased().hasPrefix("file://"), path.hasPrefix("/") else {
            throw FetchRefused("\(url) is a local path: the farm fetches https URLs (a local directory only when it is a file:// URL inside a directory the operator lists with --buildpack-dir)")
        }
        let decoded = path.removingPercentEncoding ?? path
        let directories = localDirectories.compactMap(Self.realPath)
        let advice = localDirectories.isEmpty
            ? "this farm reads no local directory; an operator can list one with --buildpack-dir DIR"
            : "this farm reads only beneath \(localDirectories.joined(separator: ", ")) (--buildpack-dir)"
        guard let real = Self.realPath(decoded) else {
            throw FetchRefused("\(url) is refused: \(decoded) does not exist; \(advice)")
        }
        guard directories.contains(where: { real == $0 || real.hasPrefix($0 == "/" ? "/" : $0 + "/") }) else {
            let through = real == decoded ? "" : " (it resolves to \(real))"
            throw FetchRefused("\(url) is refused\(through): file URLs are read only inside the operator's buildpack directories; \(advice)")
        }
        return real
    }

    /// `path` with every symbolic link, `.` and `..` resolved; `nil` when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The addresses `host` resolves to, each checked by the address guard;
    /// throws ``FetchRefused`` naming `url` and the first refused address.
    /// Resolves on a thread of its own (getaddrinfo blocks).
    public func checkedAddresses(host: String, port: Int, url: String) async throws -> [IPAddress] {
        let addresses: [IPAddress]
        if let literal = IPAddress(host) {
            addresses = [literal]
        } else {
            addresses = try await Self.resolve(host: host, port: port, url: url)
        }
        let check = addressGuard
        for address in addresses {
            if let kind = check.refusal(of: address) { throw check.refusedError(address, kind: kind, url: url) }
        }
        return addresses
    }

    static func resolve(host: String, port: Int, url: String) async throws -> [IPAddress] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[IPAddress], any Error>) in
            let thread = Thread {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, "\(port)", &hints, &list)
                guard status == 0 else {
                    continuation.resume(throwing: FetchRefused("cannot fetch \(url): cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
                    return
                }
                defer { freeaddrinfo(list) }
                var found: [IPAddress] = []
                var cursor = list
                while let entry = cursor {
                    if let address = entry.pointee.ai_addr, let ip = IPAddress(socketAddress: address), !found.contains(ip) { found.append(ip) }
                    cursor = entry.pointee.ai_next
                }
                if found.isEmpty {
                    continuation.resume(throwing: FetchRefused("cannot fetch \(url): \(host) has no address"))
                } else {
                    continuation.resume(returning: found)
                }
            }
            thread.start()
        }
    }
}
