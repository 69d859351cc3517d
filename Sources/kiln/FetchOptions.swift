import ArgumentParser
import Foundation
import KilnDownload

/// What a farm may fetch for builds: the options of `kiln up`, `kiln worker`
/// and `kiln server` that loosen the fetch policy (see docs/security.md).
struct FetchOptions: ParsableArguments {
    @Option(name: .customLong("allow-fetch-from"), help: ArgumentHelp(
        "Let builds fetch from this address range (CIDR, e.g. 10.20.0.0/16; repeatable), which the address guard refuses otherwise (loopback, private, link-local, this host's addresses).",
        valueName: "CIDR"))
    var allowFetchFrom: [String] = []
    @Option(name: .customLong("buildpack-dir"), help: ArgumentHelp(
        "A directory file:// buildpacks (and submodules) may be read from, links resolved (repeatable; default: none).", valueName: "DIR"))
    var buildpackDirectories: [String] = []
    @Option(name: .customLong("allow-git-protocols"), help: ArgumentHelp(
        "git transports to allow besides https: http, ssh, git (comma-separated).", valueName: "LIST"))
    var allowGitProtocols: [String] = []

    func validate() throws {
        _ = try policy()
    }

    /// The policy these options describe; the error names the value it cannot use.
    func policy() throws -> FetchPolicy {
        do {
            let ranges = try allowFetchFrom.map(CIDR.init)
            let directories = try buildpackDirectories.map { directory in
                let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw FetchConfigurationError("--buildpack-dir \(directory): no such directory; name a directory that holds buildpacks")
                }
                return absolute
            }
            return FetchPolicy(allowedRanges: ranges, localDirectories: directories, gitProtocols: try FetchPolicy.gitProtocols(allowGitProtocols))
        } catch let error as FetchConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// The same options, for a `kiln worker` that `kiln up` starts.
    var arguments: [String] {
        allowFetchFrom.flatMap { ["--allow-fetch-from", $0] }
            + buildpackDirectories.flatMap { ["--buildpack-dir", URL(fileURLWithPath: $0).standardizedFileURL.path] }
            + allowGitProtocols.flatMap { ["--allow-git-protocols", $0] }
    }
}
