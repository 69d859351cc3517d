import Crypto
import Foundation
import KilnConfine
import KilnArchive
import KilnDownload
import KilnProcess

/// Turns buildpack references into directories in the build's workspace:
/// built-in builders copied from Kiln's `builders/`, git buildpacks fetched
/// shallow at their ref into a per-worker cache (by URL and ref) and copied
/// from there. Every fetch goes through the fetch policy (``GitFetch``,
/// ``Download``): a URL or address it refuses fails the build with the
/// `.buildpacks` line (or config var) that named it.
public struct BuildpackResolver: Sendable {
    /// Kiln's built-in builders, one directory each.
    public var buildersDirectory: URL
    /// Where fetched git buildpacks are kept between builds.
    public var cacheDirectory: URL
    /// What may be fetched, from where, within which limits.
    public var policy: FetchPolicy

    public init(buildersDirectory: URL, cacheDirectory: URL, policy: FetchPolicy = FetchPolicy()) {
        self.buildersDirectory = buildersDirectory
        self.cacheDirectory = cacheDirectory
        self.policy = policy
    }

    /// The built-in builders, in the order their `bin/detect` is asked
    /// (`builders/ORDER`, else by name).
    public func builtInBuilders() throws -> [BuiltInBuilder] {
        let order = (try? String(contentsOf: buildersDirectory.appendingPathComponent("ORDER"), encoding: .utf8))? // farm-owned: builders/ORDER
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let names = try order ?? FileManager.default.contentsOfDirectory(atPath: buildersDirectory.path).sorted() // farm-owned: builders/
        return names.map { BuiltInBuilder.load(name: $0, directory: buildersDirectory.appendingPathComponent($0)) }
            .filter { FileManager.default.isExecutableFile(atPath: $0.buildpack.script("detect")) } // farm-owned: builders/
    }

    /// Fetches `reference` and returns its copy under `workspace`. A fetch
    /// the policy refuses throws a ``BuildpackError`` naming the URL, where
    /// the app named it, and what the operator can allow.
    public func resolve(_ reference: BuildpackReference, workspace: URL, log: @escaping @Sendable (String) async throws -> Void) async throws -> Buildpack {
        do {
            return try await fetch(reference, workspace: workspace, log: log)
        } catch let refusal as FetchRefused {
            throw BuildpackError("the buildpack \(reference) (\(reference.origin ?? "named by the app")) was refused: \(refusal.description)")
        }
    }

    func fetch(_ reference: BuildpackReference, workspace: URL, log: @escaping @Sendable (String) async throws -> Void) async throws -> Buildpack {
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true) // farm-owned: the build's buildpacks directory, before it is handed over
        // A copy per build: a buildpack may leave an `export` file beside its scripts.
        let copy = workspace.appendingPathComponent(UUID().uuidString)
        switch reference.source {
        case .builtIn(let name):
            let directory = buildersDirectory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("bin/compile").path) else { // farm-owned: builders/
                let known = (try? builtInBuilders().map(\.name).joined(separator: ", ")) ?? ""
                throw BuildpackError("there is no built-in builder named \(name) (built-in: \(known))")
            }
            try FileManager.default.copyItem(at: directory, to: copy) // farm-owned: a built-in builder of builders/
            return Buildpack(reference: name, directory: copy)
        case .tarball(let url):
            try await fetchTarball(url: url, log: log, into: copy)
            try await Self.makeScriptsExecutable(in: copy, reference: reference, log: log)
            let buildpack = Buildpack(reference: reference.description, directory: copy)
            guard Self.isExecutable("bin/compile", in: copy) else {
                throw BuildpackError("\(reference) is not a buildpack: the archive has no executable bin/compile")
            }
            return buildpack
        case .git(let url, let ref):
            try await fetchGit(url: url, ref: ref, reference: reference, log: log, into: copy)
            try? ConfinedDirectory.removeTree(copy.appendingPathComponent(".git"))
            try await Self.makeScriptsExecutable(in: copy, reference: reference, log: log)
            let buildpack = Buildpack(reference: reference.description, directory: copy)
            guard Self.isExecutable("bin/compile", in: copy) else {
                throw BuildpackError("\(reference) is not a buildpack: it has no executable bin/compile")
            }
            return buildpack
        }
    }

    /// The unpacked archive at `url`, downloaded once per worker: tarball
    /// URLs name a version (a release asset), so the cache keeps it. An
    /// archive whose files sit in one top-level directory is unpacked from it.
    /// Copies it to `copy` while the cache is locked: no other build rewrites it meanwhile.
    func fetchTarball(url: String, log: @escaping @Sendable (String) async throws -> Void, into copy: URL) async throws {
        let key = Self.cacheKey(url)
        let directory = cacheDirectory.appendingPathComponent("tar-" + key)
        let lock = try await FileLock.acquire(cacheDirectory.appendingPathComponent("tar-\(key).lock"))
        defer { withExtendedLifetime(lock) {} }
        let ready = directory.appendingPathComponent(".kiln-ready")
        if FileManager.default.fileExists(atPath: ready.path) { // farm-owned: the worker's buildpack cache
            try await log("-----> Using buildpack \(url) (cached)")
            try await Command("cp", ["-a", try Self.buildpackRoot(in: directory).path, copy.path]).check()
            return
        }
        try await log("-----> Downloading buildpack \(url)")
        try? ConfinedDirectory.removeTree(directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) // farm-owned: the worker's buildpack cache
        let archive = cacheDirectory.appendingPathComponent("tar-\(key).download")
        defer { try? FileManager.default.removeItem(at: archive) } // farm-owned: the worker's download
        do {
            try await Task.detached {
                _ = try Download(maxBytes: 256 << 20, policy: policy).fetch(url, to: archive)
                _ = try ArchiveExtractor(maxEntries: 50_000, maxBytes: 1 << 30).extract(archive: archive, into: directory)
            }.value
        } catch let error as DownloadError {
            try? ConfinedDirectory.removeTree(directory)
            throw BuildpackError("cannot fetch the buildpack: \(error.description)")
        } catch let error as ArchiveError {
            try? ConfinedDirectory.removeTree(directory)
            throw BuildpackError("the buildpack archive \(url) was refused: \(error.message)")
        }
        _ = FileManager.default.createFile(atPath: ready.path, contents: nil) // farm-owned: the worker's buildpack cache
        try await Command("cp", ["-a", try Self.buildpackRoot(in: directory).path, copy.path]).check()
    }

    /// A cache directory's name for a URL (and ref): 32 hex digits of its SHA-256.
    static func cacheKey(_ text: String) -> String {
        String(SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined().prefix(32))
    }

    /// The directory holding `bin/`: the archive's root, or its only directory.
    static func buildpackRoot(in directory: URL) throws -> URL {
        // An unpacked stranger's archive: looked at beneath it, no link followed out.
        let root = try ConfinedDirectory(directory, label: "the buildpack archive")
        if root.exists("bin") { return directory }
        let children = try root.entries().filter { $0.name != ".kiln-ready" }
        if children.count == 1, children[0].kind == .directory, root.exists(children[0].name + "/bin") {
            return directory.appendingPathComponent(children[0].name)
        }
        return directory
    }

    /// The scripts Heroku runs whatever their mode: many public buildpacks
    /// commit them without the execute bit (a repository made on a system
    /// that drops it, an archive that never had it), and Heroku and herokuish
    /// run them anyway. This build's copy gets the bit; a link is followed
    /// only while it stays inside the buildpack.
    static let scripts = ["bin/detect", "bin/compile", "bin/release"]

    /// Gives the copy's ``scripts`` their execute bit, and says so.
    static func makeScriptsExecutable(in copy: URL, reference: BuildpackReference, log: @Sendable (String) async throws -> Void) async throws {
        let directory = try ConfinedDirectory(copy, label: "the buildpack \(reference)")
        var fixed: [String] = []
        for script in scripts {
            do {
                if try directory.addExecuteBits(script) { fixed.append(script) }
            } catch let error as ConfinedPathError {
                throw BuildpackError("\(reference) is not a usable buildpack: \(error)")
            }
        }
        guard !fixed.isEmpty else { return }
        try await log("-----> \(reference): \(fixed.joined(separator: ", ")) had no execute bit; run as Heroku runs them")
    }

    /// Whether `relative` is an executable file beneath `directory` (a link that stays inside counts).
    static func isExecutable(_ relative: String, in directory: URL) -> Bool {
        (try? ConfinedDirectory(directory, label: "the buildpack").status(of: relative, followingLast: true))??.isExecutableFile == true
    }

    /// A shallow clone of `url` at `ref` (a branch, tag or commit; the
    /// default branch without one), in the cache. The ref is fetched again
    /// on every use, which costs a round trip when nothing moved; when the
    /// remote is unreachable a cached copy is used and the log says so.
    /// Copies it to `copy` while the cache is locked: no other build's fetch rewrites it meanwhile.
    func fetchGit(url: String, ref: String?, reference: BuildpackReference, log: @escaping @Sendable (String) async throws -> Void, into copy: URL) async throws {
        let key = Self.cacheKey(reference.description)
        let directory = cacheDirectory.appendingPathComponent(key)
        let lock = try await FileLock.acquire(cacheDirectory.appendingPathComponent("\(key).lock"))
        defer { withExtendedLifetime(lock) {} }
        // Checked before the cache is touched: a refused URL gets no cached copy either.
        let fetcher = GitFetch(policy: policy)
        let remote = try await fetcher.remote(url)
        let git: @Sendable ([String]) async throws -> Command.Outcome = { arguments in try await fetcher.local(arguments, in: directory) }
        let network: @Sendable ([String]) async throws -> Command.Outcome = { arguments in try await fetcher.fetch(arguments, in: directory, remote: remote) }
        // A worker killed mid-fetch leaves git's lock files and perhaps no
        // checkout: under our lock nobody else uses the directory, so its
        // locks are stale, and a copy without a HEAD is no copy at all.
        _ = try? await Command("find", [directory.appendingPathComponent(".git").path, "-name", "*.lock", "-type", "f", "-delete"]).run()
        var fresh = true
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git").path) { // farm-owned: the worker's buildpack cache
            fresh = !((try? await git(["rev-parse", "--verify", "--quiet", "HEAD"]))?.succeeded ?? false)
        }
        if fresh {
            try? ConfinedDirectory.removeTree(directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) // farm-owned: the worker's buildpack cache
            _ = try await git(["init", "--quiet"])
            _ = try await git(["remote", "add", "origin", remote.url])
        }
        // The checked address of an ssh or git host may change between builds.
        _ = try await git(["remote", "set-url", "origin", remote.url])
        try await log("-----> Fetching buildpack \(reference)")
        var fetched = try await network(["fetch", "--quiet", "--depth", "1", "origin", ref ?? "HEAD"])
        var target = "FETCH_HEAD"
        if !fetched.succeeded, let ref, Self.isAbbreviatedCommit(ref) {
            // A short commit hash, which heroku-buildpack-multi's `git checkout` took: servers
            // are asked for full names only, so the branches and tags are fetched whole.
            let shallow = FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git/shallow").path) // farm-owned: git's own file in the worker's clone
            let whole = try await network(["fetch", "--quiet", "--tags"] + (shallow ? ["--unshallow"] : []) + ["origin", "+refs/heads/*:refs/remotes/origin/*"])
            let resolved = try await git(["rev-parse", "--verify", "--quiet", "\(ref)^{commit}"])
            if whole.succeeded, resolved.succeeded {
                fetched = whole
                target = resolved.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        if fetched.succeeded {
            let checkout = try await git(["checkout", "--quiet", "--force", target])
            guard checkout.succeeded else { throw BuildpackError("cannot check out \(reference): \(checkout.output.trimmingCharacters(in: .whitespacesAndNewlines))") }
            _ = try await git(["clean", "-qfdx"])
            // The ref may bring submodules of its own, as heroku-buildpack-multi allowed: each URL is checked like the buildpack's.
            try await fetcher.updateSubmodules(in: directory)
            guard GitFetch.size(of: directory) <= 2 * policy.maxGitBytes else {
                throw BuildpackError("the buildpack \(reference) is larger than \(2 * policy.maxGitBytes >> 20) MiB checked out, the farm's limit")
            }
        } else if fresh {
            try? ConfinedDirectory.removeTree(directory)
            let reason = fetched.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if let ref { throw BuildpackError("cannot fetch the buildpack \(url) at \(ref): \(reason)") }
            throw BuildpackError("cannot fetch the buildpack \(url): \(reason)")
        } else {
            try await log("       (unreachable; using the copy fetched earlier)")
        }
        try await Command("cp", ["-a", directory.path, copy.path]).check()
    }

    /// Whether `ref` can only be an abbreviated commit hash (4 to 39 hex digits).
    static func isAbbreviatedCommit(_ ref: String) -> Bool {
        (4...39).contains(ref.count) && ref.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
