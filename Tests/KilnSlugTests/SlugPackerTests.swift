import Foundation
import KilnArchive
import KilnBlobStore
import KilnSlug
import KilnTestSupport
import Testing

@Suite struct SlugPackerTests {
    func makeTree(in directory: URL) throws {
        let long = String(repeating: "very-long-directory-name/", count: 8) + "file.txt"
        try writeFiles([
            "Procfile": "web: ./server\n",
            "server*": "#!/bin/sh\n",
            "lib/b.txt": "b", "lib/a.txt": "a", "lib/Z.txt": "Z",
            long: "deep",
        ], in: directory)
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("current").path, withDestinationPath: "lib")
    }

    @Test func theSameTreeGivesTheSameBytesWhateverItsTimesAndOwners() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let store = try LocalBlobStore(root: scratch.appendingPathComponent("blobs"))
        let first = scratch.appendingPathComponent("one"), second = scratch.appendingPathComponent("two")
        try makeTree(in: first)
        try makeTree(in: second)
        // Different times, different group-writable bits, different creation order: same slug.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1000)], ofItemAtPath: second.appendingPathComponent("Procfile").path)
        chmod(second.appendingPathComponent("lib/a.txt").path, 0o664)

        let one = try SlugPacker().pack(first, into: store)
        let two = try SlugPacker().pack(second, into: store)
        #expect(one.digest == two.digest)
        #expect(one.size == two.size)
        #expect(try BlobDigest.of(file: store.path(for: one.digest)) == one.digest)

        try "changed".write(to: second.appendingPathComponent("lib/b.txt"), atomically: true, encoding: .utf8)
        #expect(try SlugPacker().pack(second, into: store).digest != one.digest)
    }

    @Test func aSlugIsATarUnderAppThatStockToolsRead() async throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let store = try LocalBlobStore(root: scratch.appendingPathComponent("blobs"))
        let tree = scratch.appendingPathComponent("tree")
        try makeTree(in: tree)
        let packed = try SlugPacker().pack(tree, into: store)
        let listing = try await sh("sh", ["-c", "zstd -dc '\(store.path(for: packed.digest).path)' | tar tvf -"])
        #expect(listing.succeeded)
        let lines = listing.output.split(separator: "\n")
        #expect(lines.first?.hasSuffix(" app/") == true)
        #expect(lines.contains { $0.hasPrefix("-rwxr-xr-x 0/0") && $0.hasSuffix(" app/server") })
        #expect(lines.contains { $0.hasSuffix("app/current -> lib") })
        #expect(lines.contains { $0.contains("very-long-directory-name/very-long-directory-name") })
        // Entries sorted bytewise: uppercase before lowercase.
        let lib = lines.filter { $0.contains(" app/lib/") && !$0.hasSuffix("/") }.map { $0.split(separator: " ").last! }
        #expect(lib == ["app/lib/Z.txt", "app/lib/a.txt", "app/lib/b.txt"])
    }
}
