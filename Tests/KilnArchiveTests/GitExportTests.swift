import Foundation
import KilnArchive
import KilnGit
import KilnTestSupport
import Testing

@Suite struct GitExportTests {
    @Test func aCommitsTreeIsExportedWithExecutableBitsAndLinks() async throws {
        let repo = try await makeGitRepository([
            "Procfile": "web: bin/server\n",
            "bin/server*": "#!/bin/sh\nexec sleep 1\n",
            "deep/nested/file.txt": "nested\n",
        ])
        try await sh("ln", ["-s", "deep/nested/file.txt", "shortcut"], in: repo)
        try await sh("git", ["add", "shortcut"], in: repo)
        try await sh("git", ["commit", "-qm", "link"], in: repo)
        let commit = try await sh("git", ["rev-parse", "HEAD"], in: repo).output.trimmingCharacters(in: .whitespacesAndNewlines)

        let scratch = try TestEnvironment.temporaryDirectory()
        let archive = scratch.appendingPathComponent("source.tar.zst")
        FileManager.default.createFile(atPath: archive.path, contents: nil)
        let handle = try FileHandle(forWritingTo: archive)
        let writer = try ArchiveWriter(compression: .zstd) { handle.write(Data($0)) }
        let entries = try GitRepository(path: repo.appendingPathComponent(".git").path).exportTree(commit: commit, into: writer)
        try writer.finish()
        try handle.close()
        #expect(entries == 7) // Procfile, bin/, bin/server, deep/, deep/nested/, deep/nested/file.txt, shortcut

        let app = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        _ = try ArchiveExtractor().extract(archive: archive, into: app)
        #expect(FileManager.default.isExecutableFile(atPath: app.appendingPathComponent("bin/server").path))
        #expect(!FileManager.default.isExecutableFile(atPath: app.appendingPathComponent("Procfile").path))
        #expect(try String(contentsOf: app.appendingPathComponent("shortcut"), encoding: .utf8) == "nested\n")
        #expect(!FileManager.default.fileExists(atPath: app.appendingPathComponent(".git").path))
    }

    @Test func anUnknownCommitIsAnErrorThatNamesIt() async throws {
        let repo = try await makeGitRepository(["a": "b"])
        let writer = try ArchiveWriter(compression: .none) { _ in }
        let missing = String(repeating: "ab", count: 20)
        let error = #expect(throws: GitError.self) {
            try GitRepository(path: repo.appendingPathComponent(".git").path).exportTree(commit: missing, into: writer)
        }
        #expect(error?.message.contains(missing) == true)
    }
}
