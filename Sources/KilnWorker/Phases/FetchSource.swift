import Foundation
import KilnArchive
import KilnBlobStore
import KilnConfine
import KilnProcess

/// The first fetch phase, shared by every kind of build: fetch the source archive from the blob store and unpack it into
/// the build directory, refusing entries that would land outside it. For an
/// app with a source directory (a monorepo), only that subdirectory of the
/// tree becomes the build directory.
struct FetchSource {
    @discardableResult
    func run(_ context: BuildContext) async throws -> ArchiveExtractor.Summary {
        guard let digest = BlobDigest(context.build.sourceDigest) else {
            throw BuildFailure("build \(context.build.id) names an invalid source digest \(context.build.sourceDigest)")
        }
        let blobs = context.blobs, workspace = context.workspace
        let sourceDir = context.settings.app.sourceDir
        let tree = sourceDir == nil ? workspace.app : workspace.root.appendingPathComponent("tree")
        let summary = try await onThread { () throws -> ArchiveExtractor.Summary in
            try blobs.copy(digest, to: workspace.source)
            return try ArchiveExtractor().extract(archive: workspace.source, into: tree)
        }
        try? FileManager.default.removeItem(at: workspace.source) // farm-owned: the worker's own copy of the source blob
        await context.log("-----> Source \(context.build.commit.map { String($0.prefix(12)) } ?? digest.hex.prefix(12).description): \(summary.entries) entries, \(summary.bytes) bytes")
        if let sourceDir {
            try Self.select(sourceDir, of: tree, into: workspace.app)
            try? ConfinedDirectory.removeTree(tree)
            await context.log("-----> Building the subdirectory \(sourceDir) (the app's source directory)")
        }
        return summary
    }

    /// Moves `tree/sourceDir` to `app`; a missing directory, a file or a
    /// link on the way is an error that lists what the tree does have.
    static func select(_ sourceDir: String, of tree: URL, into app: URL) throws {
        let root = try ConfinedDirectory(tree, label: "the pushed tree")
        let kind: ConfinedDirectory.Kind?
        do {
            // Every component is checked: a link anywhere on the way could lead out of the tree.
            kind = try root.kind(of: sourceDir, links: .none)
        } catch let error as ConfinedPathError {
            throw BuildFailure("the source directory \(sourceDir) goes through a symbolic link or a file (\(error)); point the app at a real directory (kiln apps set --source-dir)")
        }
        guard kind == .directory else {
            let parent = sourceDir.split(separator: "/").dropLast().joined(separator: "/")
            let beside = (try? root.directory(parent, links: .none))?.flatMap { try? $0.entries() } ?? []
            let present = beside.prefix(20).map(\.name).joined(separator: ", ")
            throw BuildFailure("the source directory \(sourceDir) is not a directory in this commit (beside it: \(present.isEmpty ? "nothing" : present)); change it with kiln apps set --source-dir")
        }
        try ConfinedDirectory.removeTree(app)
        // By path: every component was just found a real directory, and nothing runs in the tree to change that.
        guard rename(tree.path + "/" + sourceDir, app.path) == 0 else { // farm-owned: checked above, nothing runs in the tree
            throw BuildFailure("cannot move the source directory \(sourceDir) into place: \(String(cString: strerror(errno)))")
        }
    }
}
