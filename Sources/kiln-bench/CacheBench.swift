import ArgumentParser
import Foundation
import KilnCache
import KilnProcess

/// `kiln-bench cache`: save and restore of a node_modules-like tree by the
/// dependency cache, against `tar -cf`/`-xf` and `tar -I zstd` of the same
/// tree in the same run, and the bytes five apps sharing it store.
struct CacheBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "Benchmark the dependency cache against tar.")

    @Option(help: "A scratch directory (on one file system).") var scratch: String
    @Option(help: "Files in the generated tree.") var files = 20_000
    @Option(help: "Runs of each measurement; the median is printed.") var runs = 3

    func run() async throws {
        let root = URL(fileURLWithPath: scratch)
        let tree = root.appendingPathComponent("app")
        let bytes = try TreeGenerator(files: files).write(into: tree.appendingPathComponent("node_modules"))
        print("tree: \(files) files, \(bytes / 1_000_000) MB (sizes: 75 % 0.2–6 KB, 22 % 6–40 KB, 3 % 40–600 KB) in \(packages(files)) packages")

        var save: [Double] = [], restore: [Double] = [], readManifest: [Double] = [], tarCreate: [Double] = [], tarExtract: [Double] = [], zstdCreate: [Double] = [], zstdExtract: [Double] = []
        var manifest = "", storeRoot = root
        for run in 0..<runs {
            // A fresh store each run, from a fresh copy (saving links files into the store).
            let copy = root.appendingPathComponent("copy-\(run)")
            try await Command("cp", ["-a", tree.path, copy.path]).check()
            storeRoot = root.appendingPathComponent("store-\(run)")
            let store = try CacheStore(root: storeRoot)
            save.append(try time { manifest = try store.save(copy).manifest })
            readManifest.append(try time { _ = try store.manifest(manifest) })
            restore.append(try time { _ = try store.restore(manifest, into: root.appendingPathComponent("restored-\(run)")) })
            let tar = root.appendingPathComponent("tree-\(run).tar").path, zst = root.appendingPathComponent("tree-\(run).tar.zst").path
            tarCreate.append(try await timeAsync { try await Command("tar", ["-cf", tar, "-C", tree.path, "."]).check() })
            try FileManager.default.createDirectory(at: root.appendingPathComponent("untar-\(run)"), withIntermediateDirectories: true)
            tarExtract.append(try await timeAsync { try await Command("tar", ["-xf", tar, "-C", root.appendingPathComponent("untar-\(run)").path]).check() })
            zstdCreate.append(try await timeAsync { try await Command("tar", ["-I", "zstd -3 -T0", "-cf", zst, "-C", tree.path, "."]).check() })
            try FileManager.default.createDirectory(at: root.appendingPathComponent("unzst-\(run)"), withIntermediateDirectories: true)
            zstdExtract.append(try await timeAsync { try await Command("tar", ["-I", "zstd", "-xf", zst, "-C", root.appendingPathComponent("unzst-\(run)").path]).check() })
            for directory in ["copy-\(run)", "restored-\(run)", "untar-\(run)", "unzst-\(run)"] { try? FileManager.default.removeItem(at: root.appendingPathComponent(directory)) }
            if run < runs - 1 { try? FileManager.default.removeItem(at: storeRoot) }
        }
        let tarSize = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("tree-0.tar").path)[.size] as? Int64 ?? 0
        let zstSize = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("tree-0.tar.zst").path)[.size] as? Int64 ?? 0

        // Five apps with the same lockfile: five entries, one set of objects.
        let store = try CacheStore(root: storeRoot)
        for app in 1...5 {
            let copy = root.appendingPathComponent("app\(app)")
            try await Command("cp", ["-a", tree.path, copy.path]).check()
            let saved = try store.save(copy)
            try store.setEntry("bench-key", manifest: saved.manifest, app: "app\(app)")
            try? FileManager.default.removeItem(at: copy)
        }
        let stored = try store.storedBytes()

        let tarX = median(tarExtract), restoreT = median(restore)
        func row(_ name: String, _ value: String) { print(name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 8 - value.count)) + value) }
        row("measurement (median of \(runs))", "ms")
        for (name, values) in [("kiln cache save (hash + link)", save), ("kiln cache restore (hard links)", restore), ("  of which reading the manifest", readManifest),
                               ("tar -cf", tarCreate), ("tar -xf", tarExtract), ("tar -I zstd -cf", zstdCreate), ("tar -I zstd -xf", zstdExtract)] {
            row(name, String(Int(median(values) * 1000)))
        }
        print(String(format: "restore vs tar -xf: %.1f× faster; vs tar -I zstd -xf: %.1f× faster", tarX / restoreT, median(zstdExtract) / restoreT))
        print("stored for 5 apps sharing the tree: kiln \(stored.bytes / 1_000_000) MB in \(stored.objects) objects; "
              + "5 tarballs \(5 * tarSize / 1_000_000) MB; 5 tar.zst \(5 * zstSize / 1_000_000) MB")
    }

    func packages(_ files: Int) -> Int { (files + 19) / 20 }

    func time(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        return Self.seconds(ContinuousClock.now - start)
    }

    func timeAsync(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return Self.seconds(ContinuousClock.now - start)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

/// Writes a tree shaped like node_modules: packages of about 20 files in a
/// few nested folders, sizes spread as in real packages (mostly small
/// sources, some bundles), text-like content from a fixed seed.
struct TreeGenerator {
    let files: Int

    func write(into directory: URL) throws -> Int64 {
        var random = SplitMix(seed: 42)
        let words = ["function", "return", "const", "module", "exports", "require", "var", "this", "prototype", "undefined", "null", "true", "=>", "{", "}", "(", ")", ";", "\n", "  "]
        var total: Int64 = 0
        for index in 0..<files {
            let package = "pkg-\(index / 20)"
            let folder = ["lib", "dist", "src/internal", "."][Int(random.next() % 4)]
            let path = directory.appendingPathComponent(package).appendingPathComponent(folder).appendingPathComponent("file\(index % 20).js")
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            let roll = random.next() % 100
            let size = roll < 75 ? 200 + Int(random.next() % 5_800) : roll < 97 ? 6_000 + Int(random.next() % 34_000) : 40_000 + Int(random.next() % 560_000)
            var text = ""
            text.reserveCapacity(size + 16)
            // Each file its own: a unique header, then words (identical files would flatter the store).
            text += "// \(package)/\(folder)/file\(index % 20) \(random.next())\n"
            while text.utf8.count < size { text += words[Int(random.next() % UInt64(words.count))] + " " }
            try Data(text.utf8).write(to: path)
            total += Int64(text.utf8.count)
        }
        return total
    }
}

/// A small, fast, seeded generator: the same tree every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
