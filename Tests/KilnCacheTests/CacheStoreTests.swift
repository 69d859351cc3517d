import Foundation
import KilnCache
import KilnTestSupport
import Testing

/// The content-addressed tree store, on a real file system.
@Suite struct CacheStoreTests {
    func tree(_ files: [String: String]) throws -> URL {
        let directory = try TestEnvironment.temporaryDirectory("tree")
        try writeFiles(files, in: directory)
        return directory
    }

    @Test func aSavedTreeRestoresWithContentModesAndLinksAndEqualTreesAreStoredOnce() throws {
        let store = try CacheStore(root: try TestEnvironment.temporaryDirectory("store"))
        let files = ["node_modules/a/index.js": String(repeating: "a", count: 5000), "node_modules/.bin/tool*": "#!/bin/sh\n", "node_modules/b/README": "b"]
        let first = try tree(files)
        try FileManager.default.createSymbolicLink(atPath: first.appendingPathComponent("node_modules/.bin/a").path, withDestinationPath: "../a/index.js")
        let saved = try store.save(first)
        #expect(saved.files == 3 && saved.bytes == 5000 + 10 + 1 && saved.newBytes == saved.bytes)

        // A second app with the same dependencies: the same manifest, no new bytes.
        let second = try tree(files)
        try FileManager.default.createSymbolicLink(atPath: second.appendingPathComponent("node_modules/.bin/a").path, withDestinationPath: "../a/index.js")
        let again = try store.save(second)
        #expect(again.manifest == saved.manifest && again.newBytes == 0)
        let stored = try store.storedBytes()
        #expect(stored.objects == 4) // three files and one manifest
        #expect(stored.bytes < saved.bytes * 2)

        let restored = try TestEnvironment.temporaryDirectory("restored").appendingPathComponent("cache")
        let result = try store.restore(saved.manifest, into: restored)
        #expect(result.files == 3 && result.bytes == saved.bytes)
        #expect(try String(contentsOf: restored.appendingPathComponent("node_modules/a/index.js"), encoding: .utf8) == files["node_modules/a/index.js"])
        #expect(FileManager.default.isExecutableFile(atPath: restored.appendingPathComponent("node_modules/.bin/tool").path))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: restored.appendingPathComponent("node_modules/.bin/a").path) == "../a/index.js")
    }

    @Test func aBuildThatEditsARestoredFileCannotChangeTheStoredObject() async throws {
        let store = try CacheStore(root: try TestEnvironment.temporaryDirectory("store"))
        let saved = try store.save(try tree(["deps/lib.ex": "original\n"]))
        let restored = try TestEnvironment.temporaryDirectory("restored").appendingPathComponent("cache")
        _ = try store.restore(saved.manifest, into: restored)
        // The build runs as the unprivileged build user: it owns the directories, not the objects.
        guard getuid() == 0 else { return }
        try await sh("chown", ["kiln-build:kiln-build", restored.path, restored.appendingPathComponent("deps").path])
        let edit = try await sh("setpriv", ["--reuid=kiln-build", "--regid=kiln-build", "--clear-groups", "--", "sh", "-c",
                                            "echo tampered >> \(restored.path)/deps/lib.ex || echo refused; rm -f \(restored.path)/deps/lib.ex && echo replaced > \(restored.path)/deps/lib.ex"])
        #expect(edit.output.contains("refused"), "\(edit.output)")
        #expect(try String(contentsOf: restored.appendingPathComponent("deps/lib.ex"), encoding: .utf8) == "replaced\n")
        let again = try TestEnvironment.temporaryDirectory("again").appendingPathComponent("cache")
        _ = try store.restore(saved.manifest, into: again)
        #expect(try String(contentsOf: again.appendingPathComponent("deps/lib.ex"), encoding: .utf8) == "original\n")
        #expect(try store.verify().isEmpty)
    }

    @Test func aCorruptOrMissingObjectIsAFaultAndIsDropped() throws {
        let root = try TestEnvironment.temporaryDirectory("store")
        let store = try CacheStore(root: root)
        let saved = try store.save(try tree(["deps/one": "one\n", "deps/two": "two\n"]))
        let digest = try #require(try store.manifest(saved.manifest).entries.first { $0.path == "deps/one" }?.digest)
        let object = root.appendingPathComponent("objects/\(digest.prefix(2))/\(digest)")
        chmod(object.path, 0o644)
        try "one, but longer\n".write(to: object, atomically: false, encoding: .utf8)
        let fault = #expect(throws: CacheFault.self) { try store.restore(saved.manifest, into: try TestEnvironment.temporaryDirectory("r").appendingPathComponent("c")) }
        #expect(fault?.description.contains("is corrupt") == true, "\(fault?.description ?? "")")
        #expect(!FileManager.default.fileExists(atPath: object.path))
        // The next save of the same tree stores it again, and restores work.
        let resaved = try store.save(try tree(["deps/one": "one\n", "deps/two": "two\n"]))
        #expect(resaved.newBytes == 4)
        _ = try store.restore(saved.manifest, into: try TestEnvironment.temporaryDirectory("r").appendingPathComponent("c"))

        // Same-size corruption is found by verify, which re-hashes.
        chmod(object.path, 0o644)
        try "ONE\n".write(to: object, atomically: false, encoding: .utf8)
        #expect(try store.verify() == [digest])
    }

    @Test func entriesAreSharedFarmWidePurgedPerAppAndSweptWhenUnused() throws {
        let store = try CacheStore(root: try TestEnvironment.temporaryDirectory("store"))
        let shared = try store.save(try tree(["deps/common": "shared lockfile deps\n"]))
        let own = try store.save(try tree(["deps/own": "only app b\n"]))
        try store.setEntry("k-shared", manifest: shared.manifest, app: "a")
        try store.setEntry("k-shared", manifest: shared.manifest, app: nil)
        try store.setEntry("k-own", manifest: own.manifest, app: "b")
        #expect(store.entry("k-shared", app: "c") == shared.manifest) // a new app starts warm from the farm's entry
        try store.purge(app: "a")
        try store.purge(app: "b")
        #expect(store.entry("k-shared", app: "a") == shared.manifest)
        #expect(store.entry("k-own", app: "b") == nil)
        let before = try store.storedBytes()
        let freed = try store.sweep(grace: -1)
        #expect(freed > 0)
        #expect(try store.storedBytes().objects == before.objects - 2) // b's file and manifest; the shared ones stay
        _ = try store.restore(shared.manifest, into: try TestEnvironment.temporaryDirectory("r").appendingPathComponent("c"))
    }
}
