import Crypto
import Foundation
import KilnArchive
import KilnDownload
import KilnGit
import KilnProcess

/// Puts a pushed commit's submodules into its source archive: each one
/// fetched by the URL in `.gitmodules` (through ``GitFetch``: the fetch
/// policy checks the URL and its addresses) into a bare repository cached
/// under the home per app and URL (so a second push fetches only what is
/// new, and no app is handed a commit another app's push fetched), and its
/// pinned commit exported at its path; nested submodules likewise, five
/// levels deep at most.
struct SubmoduleExport {
    /// This app's bare repositories of submodules, one per URL.
    let cache: URL
    let policy: FetchPolicy
    let print: @Sendable (String) -> Void

    func export(_ submodules: [Submodule], under prefix: String, into writer: ArchiveWriter, depth: Int = 0) async throws {
        guard depth < 5 else { throw GitError("submodules are nested more than 5 deep at \(prefix)") }
        for submodule in submodules {
            let path = prefix + submodule.path
            if submodule.url.hasPrefix("./") || submodule.url.hasPrefix("../") {
                throw GitError("submodule \(path) has the relative URL \(submodule.url); Kiln fetches submodules by absolute URL (https): put the full URL in .gitmodules")
            }
            print("-----> Submodule \(path) at \(submodule.commit.prefix(12)) from \(submodule.url)")
            let repository = try await fetch(submodule, path: path)
            // The hook is a short-lived process of its own: blocking libgit2 calls are fine here.
            let repo = try GitRepository(path: repository.path)
            try repo.exportTree(commit: submodule.commit, into: writer, prefix: path)
            let nested = try repo.submodules(of: submodule.commit)
            try await export(nested, under: path + "/", into: writer, depth: depth + 1)
        }
    }

    /// The cached bare repository of the submodule's URL, holding its pinned commit.
    func fetch(_ submodule: Submodule, path: String) async throws -> URL {
        let fetcher = GitFetch(policy: policy)
        let remote: GitFetch.Remote
        do {
            remote = try await fetcher.remote(submodule.url)
        } catch let refusal as FetchRefused {
            throw GitError("submodule \(path) (.gitmodules) was refused: \(refusal.description)")
        }
        let key = SHA256.hash(data: Data(submodule.url.utf8)).map { String(format: "%02x", $0) }.joined().prefix(32)
        let repository = cache.appendingPathComponent("\(key).git")
        if !FileManager.default.fileExists(atPath: repository.appendingPathComponent("HEAD").path) { // farm-owned: the app's submodule cache
            try FileManager.default.createDirectory(at: repository, withIntermediateDirectories: true) // farm-owned: the app's submodule cache
            _ = try await fetcher.local(["init", "--quiet", "--bare"], in: repository)
        }
        let present: @Sendable () async throws -> Bool = {
            try await fetcher.local(["cat-file", "-e", "\(submodule.commit)^{commit}"], in: repository).succeeded
        }
        if try await present() { return repository }
        do {
            let all = try await fetcher.fetch(["fetch", "--quiet", "--", remote.url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], in: repository, remote: remote)
            if try await present() { return repository }
            // A commit no branch or tag holds any more: ask for it by id (servers that allow it answer).
            let one = try await fetcher.fetch(["fetch", "--quiet", "--", remote.url, submodule.commit], in: repository, remote: remote)
            if try await present() { return repository }
            let reason = [all.output, one.output].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.last
            throw GitError("submodule \(path): cannot fetch commit \(submodule.commit.prefix(12)) from \(submodule.url)\(reason.map { ": \($0)" } ?? "")")
        } catch let refusal as FetchRefused {
            throw GitError("submodule \(path): \(refusal.description)")
        }
    }
}
