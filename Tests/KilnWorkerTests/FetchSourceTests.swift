import Foundation
import KilnBlobStore
import KilnCatalog
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The fetch phase: the pushed tree, from its source blob into the build directory.
@Suite struct FetchSourceTests {
    /// A source blob as the push hook stores it: the tree as a tar.zst, under its SHA-256.
    func sourceBlob(_ files: [String: String], in scratch: PhaseScratch) async throws -> BlobDigest {
        let tree = scratch.root.appendingPathComponent("pushed")
        try writeFiles(files, in: tree)
        let archive = scratch.root.appendingPathComponent("source.tar.zst")
        let packed = try await sh("sh", ["-c", "tar -C '\(tree.path)' -cf - . | zstd -q -o '\(archive.path)'"])
        #expect(packed.succeeded, "\(packed.output)")
        let digest = try BlobDigest.of(file: archive)
        try scratch.blobs.local.store(archive, as: digest)
        return digest
    }

    @Test func theSourceBlobBecomesTheBuildDirectory() async throws {
        let scratch = try PhaseScratch()
        let digest = try await sourceBlob(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\n", "lib/app.txt": "hello"], in: scratch)
        let summary = try await FetchSource().run(try scratch.context(try PhaseScratch.build(sourceDigest: digest.hex)))
        let app = scratch.workspace.app
        #expect(try String(contentsOf: app.appendingPathComponent("lib/app.txt"), encoding: .utf8) == "hello")
        #expect(FileManager.default.isExecutableFile(atPath: app.appendingPathComponent("run").path))
        #expect(summary.entries >= 3)
        // The worker's own copy of the blob is gone once unpacked.
        #expect(!FileManager.default.fileExists(atPath: scratch.workspace.source.path))
        #expect(scratch.log.text.contains("-----> Source \(digest.hex.prefix(12)): \(summary.entries) entries"))
    }

    @Test func anAppWithASourceDirectoryBuildsOnlyThatSubdirectory() async throws {
        let scratch = try PhaseScratch()
        let digest = try await sourceBlob(["services/web/Procfile": "web: ./run\n", "services/api/Procfile": "web: ./api\n", "README": "monorepo"], in: scratch)
        let app = App(name: "demo", deployBranch: "main", createdAt: Date(), sourceDir: "services/web")
        try await FetchSource().run(try scratch.context(try PhaseScratch.build(sourceDigest: digest.hex), app: app))
        let entries = try FileManager.default.contentsOfDirectory(atPath: scratch.workspace.app.path)
        #expect(entries == ["Procfile"])
        #expect(try String(contentsOf: scratch.workspace.app.appendingPathComponent("Procfile"), encoding: .utf8) == "web: ./run\n")
        #expect(scratch.log.text.contains("Building the subdirectory services/web"))
    }

    @Test func aMissingSourceDirectoryIsRefusedNamingWhatIsThere() async throws {
        let scratch = try PhaseScratch()
        let digest = try await sourceBlob(["services/api/Procfile": "web: ./api\n"], in: scratch)
        let app = App(name: "demo", deployBranch: "main", createdAt: Date(), sourceDir: "services/web")
        let message = await failure { try await FetchSource().run(try scratch.context(try PhaseScratch.build(sourceDigest: digest.hex), app: app)) }
        #expect(message?.contains("the source directory services/web is not a directory in this commit (beside it: api)") == true, "\(message ?? "no failure")")
    }
}
