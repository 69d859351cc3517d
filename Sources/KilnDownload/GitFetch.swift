import Foundation
import KilnProcess

/// The one way the farm runs git on a build's behalf (buildpacks, their
/// submodules, a push's submodules): every URL checked by the policy first,
/// https hosts resolved and every address checked by the address guard, the
/// connection pinned to those addresses (`http.curloptResolve`), redirects
/// off, local and `ext::` transports off, hooks, fsmonitor and credential
/// helpers off, in a clean environment without the system's or the user's
/// git config, each network command held to the policy's wall time, and the
/// repository's growth to its size cap.
public struct GitFetch: Sendable {
    public var policy: FetchPolicy

    public init(policy: FetchPolicy) {
        self.policy = policy
    }

    /// A URL the policy accepted: what git is given (an ssh or git URL's host
    /// replaced by its checked address, so nothing resolves it again) and the
    /// configuration that pins and limits the connection.
    public struct Remote: Sendable, Equatable {
        /// The URL as the app named it, for messages.
        public let original: String
        /// The URL handed to git.
        public let url: String
        /// `-c NAME=VALUE` arguments for this remote.
        let configuration: [String]
        /// Whether it is a local directory the operator listed.
        let isLocal: Bool
    }

    /// Checks `url` against the policy and resolves its host. Throws
    /// ``FetchRefused`` naming the URL and what the operator can do.
    public func remote(_ url: String) async throws -> Remote {
        let parsed = try Self.parse(url)
        switch parsed.scheme {
        case "file":
            let path = try policy.localPath(of: url)
            return Remote(original: url, url: URL(fileURLWithPath: path).absoluteString, configuration: ["protocol.file.allow=always"], isLocal: true)
        case "https":
            break
        default:
            guard let allowed = FetchPolicy.GitProtocol(rawValue: parsed.scheme), policy.gitProtocols.contains(allowed) else {
                throw FetchRefused("\(url) is refused: this farm fetches git repositories over https only; use an https URL, or an operator can allow \(parsed.scheme) with --allow-git-protocols \(parsed.scheme)")
            }
        }
        let port = parsed.port ?? Self.defaultPorts[parsed.scheme] ?? 443
        let addresses = try await policy.checkedAddresses(host: parsed.host, port: port, url: url)
        var configuration = ["protocol.\(parsed.scheme).allow=always"]
        var rewritten = url
        switch parsed.scheme {
        case "https", "http":
            if IPAddress(parsed.host) == nil {
                let list = addresses.map { $0.isIPv4 ? "\($0)" : "[\($0)]" }.joined(separator: ",")
                configuration.append("http.curloptResolve=\(parsed.host):\(port):\(list)")
            }
        default:
            // ssh and git resolve the host themselves: hand them the checked address instead.
            let address = addresses[0]
            let literal = address.isIPv4 ? "\(address)" : "[\(address)]"
            let user = parsed.user.map { "\($0)@" } ?? ""
            if parsed.scheme == "ssh" {
                rewritten = parsed.scpLike
                    ? "\(user)\(literal):\(parsed.path)"
                    : "ssh://\(user)\(literal)\(parsed.port.map { ":\($0)" } ?? "")\(parsed.path)"
                // Known hosts are still matched by name.
                let alias = parsed.host.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" } ? " -o HostKeyAlias=\(parsed.host)" : ""
                configuration.append("core.sshCommand=ssh -o BatchMode=yes -o ConnectTimeout=\(policy.connectTimeout.components.seconds)\(alias)")
            } else {
                rewritten = "git://\(literal)\(parsed.port.map { ":\($0)" } ?? "")\(parsed.path)"
            }
        }
        return Remote(original: url, url: rewritten, configuration: configuration, isLocal: false)
    }

    static let defaultPorts = ["https": 443, "http": 80, "ssh": 22, "git": 9418]

    /// The parts of a git URL the guard needs.
    struct ParsedURL: Equatable {
        var scheme: String
        var user: String?
        var host: String
        var port: Int?
        /// From the first `/` (or, scp-like, after the `:`).
        var path: String
        var scpLike = false
    }

    /// Splits `url` into scheme, user, host, port and path, refusing what
    /// git would read as a local path and hosts that are more than letters,
    /// digits, dots and dashes (or a bracketed IPv6 address): what is parsed
    /// here must be what git and libcurl connect to.
    static func parse(_ url: String) throws -> ParsedURL {
        let refusedLocal = FetchRefused("\(url) is a local path: the farm fetches git repositories by https URL (a local one only as a file:// URL inside a directory the operator lists with --buildpack-dir)")
        if url.lowercased().hasPrefix("file://") { return ParsedURL(scheme: "file", host: "", path: String(url.dropFirst(7))) }
        guard !url.hasPrefix("-"), !url.contains(where: { $0.isWhitespace || $0 == "\\" || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false }) else {
            throw FetchRefused("\(url) is not a URL the farm fetches: it has spaces, control characters or backslashes, or starts with a dash")
        }
        let scheme: String, authority: Substring, path: String, scpLike: Bool
        if let separator = url.range(of: "://") {
            scheme = url[..<separator.lowerBound].lowercased()
            guard ["https", "http", "ssh", "git"].contains(scheme) else {
                throw FetchRefused("\(url) has the scheme \(scheme), which the farm does not fetch: use https (an operator can allow ssh, git or http with --allow-git-protocols)")
            }
            let rest = url[separator.upperBound...]
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            authority = rest[..<end]
            path = String(rest[end...])
            scpLike = false
        } else if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
            // TRANSPORT::ADDRESS names a remote helper (ext:: runs a command): never a host.
            guard !url[colon...].hasPrefix("::") else {
                throw FetchRefused("\(url) names a git remote helper (TRANSPORT::ADDRESS), which the farm never runs: use an https URL")
            }
            // git's scp-like form, [user@]host:path, is ssh; an IPv6 host is bracketed.
            scheme = "ssh"
            scpLike = true
            var split = colon
            if let open = url.firstIndex(of: "["), open < colon, let close = url.firstIndex(of: "]") {
                guard let after = url[close...].firstIndex(of: ":") else { throw refusedLocal }
                split = after
            }
            authority = url[..<split]
            path = String(url[url.index(after: split)...])
            if path.isEmpty { throw refusedLocal }
        } else {
            throw refusedLocal
        }
        var hostPort = authority
        var user: String?
        guard hostPort.filter({ $0 == "@" }).count <= 1 else {
            throw FetchRefused("\(url) has more than one @ before its host: write the user name percent-encoded")
        }
        if let at = hostPort.lastIndex(of: "@") {
            user = String(hostPort[..<at])
            hostPort = hostPort[hostPort.index(after: at)...]
        }
        var host = String(hostPort), port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw FetchRefused("\(url) has an unclosed [ in its host") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":"), !scpLike {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else { throw FetchRefused("\(url) has an invalid port") }
                port = number
            } else if !after.isEmpty {
                throw FetchRefused("\(url) has text after its IPv6 address")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
            guard IPAddress(host) != nil else { throw FetchRefused("\(url) has the host [\(host)], which is not an IPv6 address") }
        } else {
            if !scpLike, let colon = host.lastIndex(of: ":") {
                guard let number = Int(host[host.index(after: colon)...]), (1...65535).contains(number) else {
                    throw FetchRefused("\(url) has an invalid port")
                }
                port = number
                host = String(host[..<colon])
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }), !host.hasPrefix("-") else {
                throw FetchRefused("\(url) has the host '\(host)': the farm fetches from host names of letters, digits, dots and dashes, or IP addresses")
            }
        }
        return ParsedURL(scheme: scheme, user: user, host: host, port: port, path: path, scpLike: scpLike)
    }

    /// The `-c` settings every git command of a fetch runs with, whatever the repository says.
    func hardening(for remote: Remote?) -> [String] {
        var settings = [
            "protocol.allow=never", "protocol.https.allow=always", "protocol.ext.allow=never",
            "http.followRedirects=false",
            "http.lowSpeedLimit=\(policy.lowSpeedLimit)", "http.lowSpeedTime=\(policy.lowSpeedTime.components.seconds)",
            "core.hooksPath=/dev/null", "core.fsmonitor=false", "core.symlinks=true",
            "credential.helper=", "fetch.recurseSubmodules=false", "submodule.recurse=false",
            "http.proxy=", "core.askPass=",
        ]
        for allowed in policy.gitProtocols { settings.append("protocol.\(allowed.rawValue).allow=always") }
        settings.append(remote?.isLocal == true ? "protocol.file.allow=always" : "protocol.file.allow=never")
        settings += remote?.configuration ?? []
        return settings.flatMap { ["-c", $0] }
    }

    /// The clean environment git runs in: none of the caller's variables
    /// (a hook's quarantine, a worker's secrets) and no system or global config.
    static var environment: [String: String] {
        let ours = ProcessInfo.processInfo.environment
        return ["PATH": ours["PATH"] ?? "/usr/bin:/bin", "HOME": ours["HOME"] ?? "/nonexistent",
                "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                "GIT_PROTOCOL_FROM_USER": "0", "LC_ALL": "C"]
    }

    /// Runs `git -C directory ARGUMENTS` hardened, without the network's limits: for commands that fetch nothing.
    public func local(_ arguments: [String], in directory: URL) async throws -> Command.Outcome {
        try await Command("git", hardening(for: nil) + ["-C", directory.path] + arguments, environment: Self.environment, inheritEnvironment: false).run()
    }

    /// Runs a network command (`fetch`, `submodule update`) against `remote`
    /// in `directory`, within the policy's wall time, stopping it once
    /// `directory` grows past the size cap. Returns git's outcome (a failed
    /// fetch is not thrown); throws ``FetchRefused`` when a limit stopped it.
    public func fetch(_ arguments: [String], in directory: URL, remote: Remote) async throws -> Command.Outcome {
        let command = Command("git", hardening(for: remote) + ["-C", directory.path] + arguments, environment: Self.environment, inheritEnvironment: false)
        let policy = self.policy
        let outcome = try await withThrowingTaskGroup(of: Command.Outcome?.self) { group in
            group.addTask { try await command.run() }
            group.addTask {
                let deadline = ContinuousClock.now + policy.timeout
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: .seconds(1))
                    if Self.size(of: directory) > policy.maxGitBytes { return nil }
                }
                throw FetchRefused("cannot fetch \(remote.original): it took longer than \(policy.timeout.components.seconds) s, the farm's limit for one fetch")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let outcome, Self.size(of: directory) <= policy.maxGitBytes else {
            throw FetchRefused("cannot fetch \(remote.original): it is larger than the farm's limit of \(policy.maxGitBytes >> 20) MiB for a repository")
        }
        return outcome
    }

    /// Bytes of the regular files beneath `directory`, links not followed.
    public static func size(of directory: URL) -> Int64 {
        guard let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey], options: []) else { return 0 }
        var total: Int64 = 0
        for case let file as URL in walk {
            guard let values = try? file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true else { continue }
            total += Int64(values.fileSize ?? 0)
        }
        return total
    }

    /// Checks out the submodules of the work tree at `directory`, each of
    /// their URLs checked like any other (a refused one throws
    /// ``FetchRefused``), one at a time with its own pinning, shallow, five
    /// levels deep at most. A submodule that cannot be fetched is left out,
    /// as `git submodule update` alone would leave it.
    public func updateSubmodules(in directory: URL, depth: Int = 0) async throws {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(".gitmodules").path) else { return }
        guard depth < 5 else { throw FetchRefused("submodules are nested more than 5 deep at \(directory.lastPathComponent)") }
        _ = try await local(["submodule", "init", "--quiet"], in: directory)
        let listed = try await local(["config", "--get-regexp", #"^submodule\..*\.url$"#], in: directory)
        guard listed.succeeded else { return }
        for line in listed.output.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let key = line[..<space], url = String(line[line.index(after: space)...])
            let name = String(key.dropFirst("submodule.".count).dropLast(".url".count))
            let path = try await local(["config", "-f", ".gitmodules", "--get", "submodule.\(name).path"], in: directory)
            let relative = path.output.trimmingCharacters(in: .whitespacesAndNewlines)
            guard path.succeeded, !relative.isEmpty, !relative.hasPrefix("/"), !relative.split(separator: "/").contains("..") else { continue }
            let remote: Remote
            do {
                remote = try await self.remote(url)
            } catch let refusal as FetchRefused {
                throw FetchRefused("submodule \(relative): \(refusal.description)")
            }
            _ = try await local(["config", "submodule.\(name).url", remote.url], in: directory)
            _ = try await fetch(["submodule", "update", "--depth", "1", "--quiet", "--", relative], in: directory, remote: remote)
            try await updateSubmodules(in: directory.appendingPathComponent(relative), depth: depth + 1)
        }
    }
}
