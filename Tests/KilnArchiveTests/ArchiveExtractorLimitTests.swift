import Foundation
import KilnArchive
import KilnTestSupport
import Testing

@Suite struct ArchiveExtractorLimitTests {
    @Test func aSparseFileCountsAtItsApparentSizeAgainstTheByteBudget() async throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let app = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        // Five bytes of data, ten gibibytes of hole: past the default 8 GiB budget.
        let bomb = try await makeTar([.file("small", "x"), .sparse("big", size: 10 << 30, data: "hello")], in: scratch)
        #expect(try Data(contentsOf: bomb).count < 64 << 10)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: bomb, into: app) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("archive entry big is a file of 10737418240 bytes (its apparent size, holes included); the archive unpacks to more than 8589934592 bytes") == true,
                "\(error?.message ?? "")")
        // Refused before its header: not even an empty file is left.
        #expect(!FileManager.default.fileExists(atPath: app.appendingPathComponent("big").path))

        // Under the budget it unpacks, and the summary counts the hole.
        let sparse = try await makeTar([.sparse("holes", size: 3 << 20, data: "hello")], in: scratch, name: "sparse.tar")
        let summary = try ArchiveExtractor(maxBytes: 4 << 20).extract(archive: sparse, into: app)
        #expect(summary.bytes == 3 << 20)
        let attributes = try FileManager.default.attributesOfItem(atPath: app.appendingPathComponent("holes").path)
        #expect((attributes[.size] as? Int) == 3 << 20)
        let tight = #expect(throws: ArchiveError.self) { try ArchiveExtractor(maxBytes: 2 << 20).extract(archive: sparse, into: app) }
        #expect(tight?.code == .tooLarge)
    }

    @Test func anOverlongPathOrNameIsRefusedNamingTheEntry() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let app = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        let longName = String(repeating: "n", count: 256)
        let longPath = (0..<20).map { _ in String(repeating: "p", count: 250) }.joined(separator: "/")
        for (path, reason) in [
            ("src/\(longName)", "has a name of 256 bytes"),
            (longPath, "has a path of 5019 bytes; paths may be at most 4096 bytes: refused"),
        ] {
            let archive = try makeArchive([(ArchiveEntry(path: path, kind: .file, permissions: 0o644), "x")], in: scratch)
            let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
            #expect(error?.code == .tooLarge)
            #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
            // The entry is named, shortened so that the log line stays readable.
            #expect(error?.message.contains("archive entry \(path.prefix(100))") == true)
        }
        // At the limits exactly, it extracts.
        let fits = String(repeating: "n", count: 255)
        let archive = try makeArchive([(ArchiveEntry(path: "src/\(fits)", kind: .file, permissions: 0o644), "x")], in: scratch)
        #expect(try ArchiveExtractor().extract(archive: archive, into: app).entries == 1)
    }

    @Test func aTooDeepPathIsRefused() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let app = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        let deep = Array(repeating: "d", count: 129).joined(separator: "/")
        let archive = try makeArchive([(ArchiveEntry(path: deep, kind: .file, permissions: 0o644), "x")], in: scratch)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("is 129 components deep; paths may have at most 128: refused") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: app.appendingPathComponent("d").path))

        let fits = Array(repeating: "d", count: 128).joined(separator: "/")
        let shallow = try makeArchive([(ArchiveEntry(path: fits, kind: .file, permissions: 0o644), "x")], in: scratch)
        #expect(try ArchiveExtractor().extract(archive: shallow, into: app).entries == 1)
    }
}
