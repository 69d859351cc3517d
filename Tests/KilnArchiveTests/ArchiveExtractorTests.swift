import Foundation
import KilnArchive
import KilnTestSupport
import Testing

/// Writes a tar.zst holding `entries` (with content for files) and returns its path.
func makeArchive(_ entries: [(ArchiveEntry, String)], in directory: URL) throws -> URL {
    let url = directory.appendingPathComponent("source.tar.zst")
    FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    let writer = try ArchiveWriter(compression: .zstd) { bytes in handle.write(Data(bytes)) }
    for (entry, content) in entries {
        if case .file = entry.kind { try writer.write(entry, contents: Data(content.utf8)) } else { try writer.writeHeader(entry) }
    }
    try writer.finish()
    return url
}

@Suite struct ArchiveExtractorTests {
    @Test func aWellFormedArchiveUnpacksWithModesAndLinks() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let archive = try makeArchive([
            (ArchiveEntry(path: "bin/", kind: .directory, permissions: 0o755), ""),
            (ArchiveEntry(path: "bin/run", kind: .file, permissions: 0o755), "#!/bin/sh\necho hi\n"),
            (ArchiveEntry(path: "README", kind: .file, permissions: 0o644), "hello"),
            (ArchiveEntry(path: "docs/link", kind: .symlink(target: "../README"), permissions: 0o777), ""),
        ], in: scratch)
        let destination = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let summary = try ArchiveExtractor().extract(archive: archive, into: destination)
        #expect(summary.entries == 4)
        #expect(try String(contentsOf: destination.appendingPathComponent("README"), encoding: .utf8) == "hello")
        #expect(FileManager.default.isExecutableFile(atPath: destination.appendingPathComponent("bin/run").path))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: destination.appendingPathComponent("docs/link").path) == "../README")
    }

    @Test(arguments: [
        ("../escaped", "contains '..'"),
        ("app/../../escaped", "contains '..'"),
        ("/tmp/kiln-absolute-escape", "absolute path"),
    ])
    func anEntryOutsideTheBuildDirectoryIsRefused(path: String, reason: String) throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let archive = try makeArchive([
            (ArchiveEntry(path: "ok.txt", kind: .file, permissions: 0o644), "fine"),
            (ArchiveEntry(path: path, kind: .file, permissions: 0o644), "evil"),
        ], in: scratch)
        let destination = scratch.appendingPathComponent("work/app")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: destination) }
        #expect(error?.code == .unsafeEntry)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains(reason) == true)
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("work/escaped").path))
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("escaped").path))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kiln-absolute-escape"))
    }

    @Test func aSymbolicLinkEscapingTheBuildDirectoryIsRefusedAndNothingIsWrittenThroughIt() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let outside = scratch.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        for target in ["../../outside", outside.path, "a/../../.."] {
            let archive = try makeArchive([
                (ArchiveEntry(path: "link", kind: .symlink(target: target), permissions: 0o777), ""),
                (ArchiveEntry(path: "link/planted", kind: .file, permissions: 0o644), "evil"),
            ], in: scratch)
            let destination = scratch.appendingPathComponent("work/app")
            try? FileManager.default.removeItem(at: destination)
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: destination) }
            #expect(error?.code == .unsafeEntry)
            #expect(error?.message.contains("symbolic link") == true)
            #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("planted").path))
        }
    }

    @Test func aFileWrittenThroughAnInTreeLinkIsRefused() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let archive = try makeArchive([
            (ArchiveEntry(path: "real/", kind: .directory, permissions: 0o755), ""),
            (ArchiveEntry(path: "alias", kind: .symlink(target: "real"), permissions: 0o777), ""),
            (ArchiveEntry(path: "alias/file", kind: .file, permissions: 0o644), "through a link"),
        ], in: scratch)
        let destination = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: destination) }
        #expect(!FileManager.default.fileExists(atPath: destination.appendingPathComponent("real/file").path))
    }

    @Test func aMalformedArchiveGetsAnErrorNamingIt() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let bogus = scratch.appendingPathComponent("bogus.tar.zst")
        try Data("this is not an archive at all, just text".utf8).write(to: bogus)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: bogus, into: scratch) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("bogus.tar.zst") == true)
    }

    @Test func aTruncatedArchiveIsReportedAsCorrupt() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let big = String(repeating: "0123456789abcdef", count: 65536)
        let archive = try makeArchive([(ArchiveEntry(path: "big", kind: .file, permissions: 0o644), big)], in: scratch)
        let data = try Data(contentsOf: archive)
        try data.prefix(data.count / 2).write(to: archive)
        let destination = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: destination) }
        #expect(error?.code == .malformed)
    }

    @Test func anArchiveOverItsEntryOrSizeLimitIsRefusedNamingTheLimit() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        // Compresses to almost nothing, unpacks to 4 MiB: a small zip bomb.
        let big = String(repeating: "a", count: 4 << 20)
        let archive = try makeArchive((0..<3).map { (ArchiveEntry(path: "f\($0)", kind: .file, permissions: 0o644), $0 == 0 ? big : "x") }, in: scratch)
        let destination = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let bytes = #expect(throws: ArchiveError.self) { try ArchiveExtractor(maxBytes: 1 << 20).extract(archive: archive, into: destination) }
        #expect(bytes?.code == .tooLarge)
        #expect(bytes?.message.contains("unpacks to more than 1048576 bytes (stopped in f0)") == true, "\(bytes?.message ?? "")")
        let entries = #expect(throws: ArchiveError.self) { try ArchiveExtractor(maxEntries: 2).extract(archive: archive, into: destination) }
        #expect(entries?.message.contains("has more than 2 entries (stopped at f2)") == true, "\(entries?.message ?? "")")
        #expect(try ArchiveExtractor(maxEntries: 3, maxBytes: 5 << 20).extract(archive: archive, into: destination).entries == 3)
    }
}
