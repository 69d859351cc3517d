import Foundation
import KilnConfine
import KilnArchive
import KilnBlobStore
import KilnDownload

/// Turns a source archive at a URL (tar.gz, tar.zst, tar or zip), as
/// Akkeris and Heroku's source URL builds accept, into a source blob like
/// the one a push makes: downloaded within a size limit, unpacked by the
/// same extractor that refuses traversal, absolute paths and link escapes
/// (naming the entry), held to limits on entries and unpacked bytes, then
/// packed again. A single top-level directory (as GitHub's archives have)
/// is stripped, so the app's files are at the root. The download goes
/// through the fetch policy's address guard, redirects included.
public struct SourceArchiveImport: Sendable {
    public var maxDownloadBytes: Int64 = 512 << 20
    public var maxUnpackedBytes: Int64 = 2 << 30
    public var maxEntries = 100_000
    /// Where downloads and unpacked trees are kept while they are checked.
    public var scratch: URL
    /// Where the archive may come from, and within which time.
    public var policy: FetchPolicy

    public init(scratch: URL, policy: FetchPolicy = FetchPolicy()) {
        self.scratch = scratch
        self.policy = policy
    }

    /// Imports `url` into `blobs`; returns the source blob's digest. Blocks on I/O.
    public func run(_ url: String, into blobs: LocalBlobStore) throws -> BlobDigest {
        // A user names this URL: never a file of the server's own (file://), whatever Download accepts for operators.
        let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased() ?? ""
        guard scheme == "https" || scheme == "http" else {
            throw SourceImportError("cannot import \(url): a source archive is fetched over https or http")
        }
        let work = scratch.appendingPathComponent("import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) // farm-owned: the server's scratch
        // What the archive unpacked is a stranger's tree: removed without following its links.
        defer { try? ConfinedDirectory.removeTree(work) }
        let archive = work.appendingPathComponent("download")
        let tree = work.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true) // farm-owned: made here, empty

        do {
            _ = try Download(maxBytes: maxDownloadBytes, policy: policy).fetch(url, to: archive)
        } catch let error as DownloadError {
            throw SourceImportError(error.description)
        } catch let refusal as FetchRefused {
            throw SourceImportError("the source URL was refused: \(refusal.description)")
        }
        let summary: ArchiveExtractor.Summary
        do {
            summary = try ArchiveExtractor(maxEntries: maxEntries, maxBytes: maxUnpackedBytes).extract(archive: archive, into: tree)
        } catch let error as ArchiveError {
            throw SourceImportError("the source archive at \(url) was refused: \(error.message)")
        }
        guard summary.entries > 0 else { throw SourceImportError("the source archive at \(url) is empty") }
        let root = Self.strippingSingleDirectory(tree)
        let blob = try blobs.makeWriter()
        let writer = try ArchiveWriter(compression: .zstd, level: 3) { try blob.write($0) }
        _ = try DirectoryArchiver(prefix: "").archive(root, into: writer)
        try writer.finish()
        return try blob.commit()
    }

    /// `tree/only-child` when the tree holds one directory and nothing else.
    static func strippingSingleDirectory(_ tree: URL) -> URL {
        guard let children = try? ConfinedDirectory(tree, label: "the source archive").entries(),
              children.count == 1, let only = children.first, only.kind == .directory else { return tree }
        return tree.appendingPathComponent(only.name)
    }
}

/// A source archive that could not be fetched or was refused; the message
/// names the URL and, for a refused entry, the entry.
public struct SourceImportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
