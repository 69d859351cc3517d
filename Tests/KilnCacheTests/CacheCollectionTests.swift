import Foundation
import KilnCache
import KilnTestSupport
import Testing

/// Two tiers, concurrent saves, and collection under a budget.
@Suite struct CacheCollectionTests {
    func tree(_ files: [String: String]) throws -> URL {
        let directory = try TestEnvironment.temporaryDirectory("tree")
        try writeFiles(files, in: directory)
        return directory
    }

    @Test func twoBuildsSavingTheSameKeyAtOnceLeaveOneIntactCopy() async throws {
        let store = try CacheStore(root: try TestEnvironment.temporaryDirectory("store"))
        var files: [String: String] = [:]
        for index in 0..<300 { files["node_modules/p\(index % 7)/f\(index).js"] = String(repeating: "x", count: 100 + index) }
        let trees = [try tree(files), try tree(files)]
        let saved = try await withThrowingTaskGroup(of: CacheStore.Saved.self) { group in
            for directory in trees {
                group.addTask {
                    let saved = try store.save(directory, paths: ["node_modules"])
                    try store.setEntry("same-key", manifest: saved.manifest, app: "app")
                    return saved
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(saved[0].manifest == saved[1].manifest)
        #expect(saved[0].newBytes + saved[1].newBytes >= saved[0].bytes) // every byte stored by one of them at least
        let stored = try store.storedBytes()
        #expect(stored.objects == 301) // 300 files and one manifest, once
        #expect(try store.verify().isEmpty)
        let restored = try TestEnvironment.temporaryDirectory("r").appendingPathComponent("cache")
        #expect(try store.restore(try #require(store.entry("same-key", app: "app")), into: restored).files == 300)
    }

    @Test func collectionEvictsLeastRecentlyUsedUnderTheBudgetAndKeepsWhatOthersUse() throws {
        let store = try CacheStore(root: try TestEnvironment.temporaryDirectory("store"))
        let common = try store.save(try tree(["deps/common": String(repeating: "c", count: 4000)]))
        let old = try store.save(try tree(["deps/old": String(repeating: "o", count: 3000)]))
        try store.setEntry("k-common", manifest: common.manifest, app: "a")
        try store.setEntry("k-common", manifest: common.manifest, app: "b")
        try store.setEntry("k-old", manifest: old.manifest, app: "c")
        // c's entry was last used yesterday; a and b use theirs now.
        let yesterday = Date().addingTimeInterval(-86_400).timeIntervalSince1970
        var times = [timeval(tv_sec: Int(yesterday), tv_usec: 0), timeval(tv_sec: Int(yesterday), tv_usec: 0)]
        utimes(store.root.appendingPathComponent("entries/c/k-old").path, &times)

        // Everything fits: nothing goes.
        let none = try store.collect(budget: 10_000, grace: -1)
        #expect(none.evictedEntries == 0 && none.freedBytes == 0)
        // 5,000 bytes: the common tree stays (used by two apps, recently), the old one goes.
        let collected = try store.collect(budget: 5000, grace: -1)
        #expect(collected.evictedEntries == 1 && collected.freedBytes >= 3000, "\(collected)")
        #expect(store.entry("k-old", app: "c") == nil)
        // Purging a leaves b's copy: the objects are b's too.
        try store.purge(app: "a")
        _ = try store.collect(budget: 5000, grace: -1)
        _ = try store.restore(try #require(store.entry("k-common", app: "b")), into: try TestEnvironment.temporaryDirectory("r").appendingPathComponent("c"))
        let usage = try store.usage()
        #expect(usage.entries == 1 && usage.treeBytes == 4000 && usage.storedBytes > 4000)
    }

    @Test func anEmptyTierPullsFromTheOtherAndACorruptSourceObjectIsDroppedThere() throws {
        let shared = try CacheStore(root: try TestEnvironment.temporaryDirectory("shared"))
        let local = try CacheStore(root: try TestEnvironment.temporaryDirectory("local"))
        let saved = try shared.save(try tree(["deps/a": "alpha\n", "deps/b": "beta\n", "deps/bin/run*": "#!/bin/sh\n"]))
        let pulled = try local.pull(saved.manifest, from: shared)
        #expect(pulled.objects == 3 && pulled.bytes == saved.bytes)
        #expect(try local.pull(saved.manifest, from: shared).objects == 0) // nothing left to fetch
        let restored = try TestEnvironment.temporaryDirectory("r").appendingPathComponent("cache")
        _ = try local.restore(saved.manifest, into: restored)
        #expect(FileManager.default.isExecutableFile(atPath: restored.appendingPathComponent("deps/bin/run").path))

        // A damaged object in the source tier is refused, and dropped there.
        let empty = try CacheStore(root: try TestEnvironment.temporaryDirectory("empty"))
        let digest = try #require(try shared.manifest(saved.manifest).entries.first { $0.path == "deps/a" }?.digest)
        let object = shared.root.appendingPathComponent("objects/\(digest.prefix(2))/\(digest)")
        chmod(object.path, 0o644)
        try "ALPHA\n".write(to: object, atomically: false, encoding: .utf8)
        let fault = #expect(throws: CacheFault.self) { try empty.pull(saved.manifest, from: shared) }
        #expect(fault?.description.contains("is corrupt") == true, "\(fault?.description ?? "")")
        #expect(!FileManager.default.fileExists(atPath: object.path))
    }

    @Test func aSameSizeEditOfAnObjectIsFoundAtRestoreWithoutReadingTheOthers() throws {
        let store = try CacheStore(root: try TestEnvironment.temporaryDirectory("store"))
        let saved = try store.save(try tree(["deps/one": "one\n", "deps/two": "two\n"]))
        let digest = try #require(try store.manifest(saved.manifest).entries.first { $0.path == "deps/one" }?.digest)
        let object = store.root.appendingPathComponent("objects/\(digest.prefix(2))/\(digest)")
        chmod(object.path, 0o644)
        try "ONE\n".write(to: object, atomically: false, encoding: .utf8)
        let fault = #expect(throws: CacheFault.self) { try store.restore(saved.manifest, into: try TestEnvironment.temporaryDirectory("r").appendingPathComponent("c")) }
        #expect(fault?.description.contains("no longer matches its digest") == true, "\(fault?.description ?? "")")
        #expect(!FileManager.default.fileExists(atPath: object.path))
    }
}
