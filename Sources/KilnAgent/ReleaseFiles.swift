import Foundation
import KilnArchive
import KilnBlobStore
import KilnCurl
import KilnProcess

/// Fetching what a release needs: its slug (within a size cap, checked
/// against the signed manifest's SHA-256), its config vars, and the slug
/// unpacked safely. Each blocking call runs on a thread of its own.
enum ReleaseFiles {
    /// Downloads `url` to `file` and checks its SHA-256 against `sha256`; removes the file on any failure.
    static func downloadSlug(_ url: String, to file: URL, maxBytes: Int64, sha256: String) async throws {
        do {
            try await onThread {
                let descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw AgentError("cannot create \(file.path): \(String(cString: strerror(errno)))") }
                defer { close(descriptor) }
                var request = CurlRequest("GET", url, download: descriptor)
                request.maxBytes = maxBytes
                request.timeout = .seconds(900)
                request.stallTimeout = .seconds(60)
                let response: CurlResponse
                do {
                    response = try request.perform()
                } catch let error as CurlFailure {
                    throw AgentError(error.kind == .overLimit ? "the slug is larger than the agent's limit of \(maxBytes) bytes"
                        : "the slug cannot be downloaded: \(error.message)")
                }
                guard response.succeeded else { throw AgentError("the slug cannot be downloaded: its URL answered HTTP \(response.status)") }
            }
            let digest = try await onThread { try BlobDigest.of(file: file).hex }
            guard digest == sha256 else {
                throw AgentError("the slug's SHA-256 is \(digest), the signed manifest says \(sha256)")
            }
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
    }

    /// The config vars at `url` (`{"app": APP, "version": N, "vars": {...}}`),
    /// checked to be `app`'s version `version`, the one the hand-off names.
    static func configVars(_ url: String, app: String, version: Int) async throws -> [String: String] {
        let response = try await onThread {
            var request = CurlRequest("GET", url, headers: ["Accept: application/json"])
            request.timeout = .seconds(30)
            request.maxBytes = 4 << 20
            do {
                return try request.perform()
            } catch let error as CurlFailure {
                throw AgentError("the config vars cannot be fetched: \(error.message)")
            }
        }
        guard response.succeeded else { throw AgentError("the config vars cannot be fetched: the config URL answered HTTP \(response.status)") }
        struct Answer: Decodable {
            var app: String
            var version: Int
            var vars: [String: String]
        }
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: response.body)
        } catch {
            throw AgentError("the config URL's answer is not {\"app\": …, \"version\": …, \"vars\": {...}}: \(error)")
        }
        guard answer.app == app, answer.version == version else {
            throw AgentError("the config URL answered \(answer.app) config v\(answer.version), the hand-off names \(app) config v\(version)")
        }
        return answer.vars
    }

    /// Unpacks the slug into `directory` (made if need be), refusing any entry that would land outside it.
    static func unpack(_ slug: URL, into directory: URL) async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        do {
            _ = try await onThread { try ArchiveExtractor().extract(archive: slug, into: directory) }
        } catch {
            throw AgentError("the slug cannot be unpacked: \(error)")
        }
    }
}
