import Foundation
import KilnCache
import KilnImage
import KilnTestSupport
import Testing
@testable import KilnCNB
@testable import KilnWorker

/// The CNB layer cache across two workers that share the farm's tier:
/// what one saves after its export, the other restores before bin/build.
@Suite struct CNBLayerCacheTests {
    @Test func anotherWorkerRestoresTheCacheFromTheSharedTierWithoutTypesAndWithTheImageRecord() async throws {
        let scratch = try PhaseScratch()
        let shared = try CacheStore(root: scratch.root.appendingPathComponent("shared"))
        let first = CNBLayerCache(local: try CacheStore(root: scratch.root.appendingPathComponent("local-1")), shared: shared)
        let second = CNBLayerCache(local: try CacheStore(root: scratch.root.appendingPathComponent("local-2")), shared: shared)
        let directories = CNBWorkspace(workspace: scratch.workspace, path: "")
        try writeFiles([
            "samples_node/deps.toml": "[types]\ncache = true\n[metadata]\nlock = \"abc\"\n",
            "samples_node/deps/node_modules/x.js": "x\n",
            "samples_node/site.toml": "[types]\nlaunch = true\n",
            "samples_node/site/index.html": "not kept: launch only\n",
            "samples_node/tools.toml": "[types]\nbuild = true\n",
            "samples_node/tools/bin/t": "not kept: build only\n",
        ], in: directories.layers)
        let layers = CNBBuildpackLayers(layers: [
            .init(name: "deps", metadata: .init(types: .init(cache: true)), outcome: .provided(.init(cache: true))),
            .init(name: "site", metadata: .init(types: .init(launch: true)), outcome: .provided(.init(launch: true))),
            .init(name: "tools", metadata: .init(types: .init(build: true)), outcome: .provided(.init(build: true))),
        ])
        let built = CNBBuilt(buildpack: try CNBBuildpackDescriptor.parse("api = \"0.10\"\n[buildpack]\nid = \"samples/node\"\nversion = \"1\"\n"),
                             layers: layers, buildLayers: [])
        let reference = ImageReference(repository: "registry.example/kiln/demo", digest: "sha256:" + String(repeating: "a", count: 64))
        let image = CNBExport.Exported(reference: reference, config: try ImageConfig(json: Data("{}".utf8)), processTypes: [:], size: 0,
                                       layerDigests: ["samples_node/site": "sha256:" + String(repeating: "b", count: 64)])
        await first.save(try scratch.context(), built: [built], directories: directories, stack: "host", image: image)

        // The second worker's build: a fresh layers directory, its own empty local tier.
        let other = try PhaseScratch()
        let otherDirectories = CNBWorkspace(workspace: other.workspace, path: "")
        try FileManager.default.createDirectory(at: otherDirectories.layers, withIntermediateDirectories: true)
        let previous = try await second.restore(try other.context(), into: otherDirectories, stack: "host")
        #expect(previous == CNBLayerCache.Previous(image: reference.description, layers: ["samples_node/site": "sha256:" + String(repeating: "b", count: 64)]))
        #expect(other.log.text.contains("Layers restored from the farm's shared cache"), "\(other.log.text)")
        let restored = otherDirectories.layers
        #expect(try String(contentsOf: restored.appendingPathComponent("samples_node/deps/node_modules/x.js"), encoding: .utf8) == "x\n")
        let depsToml = try String(contentsOf: restored.appendingPathComponent("samples_node/deps.toml"), encoding: .utf8)
        #expect(!depsToml.contains("types") && depsToml.contains("abc"), "\(depsToml)")
        #expect(FileManager.default.fileExists(atPath: restored.appendingPathComponent("samples_node/site.toml").path), "a launch-only layer's toml comes back")
        #expect(!FileManager.default.fileExists(atPath: restored.appendingPathComponent("samples_node/site").path), "not its contents")
        #expect(!FileManager.default.fileExists(atPath: restored.appendingPathComponent("samples_node/tools.toml").path), "nor a build layer")
        #expect(!FileManager.default.fileExists(atPath: restored.appendingPathComponent(CNBLayerCache.record).path), "the record is taken out")

        // After a reset nothing comes back, on either worker.
        await first.reset(try scratch.context(), stack: "host")
        let third = try PhaseScratch()
        let thirdDirectories = CNBWorkspace(workspace: third.workspace, path: "")
        try FileManager.default.createDirectory(at: thirdDirectories.layers, withIntermediateDirectories: true)
        #expect(try await second.restore(try third.context(), into: thirdDirectories, stack: "host") == nil)
    }
}
