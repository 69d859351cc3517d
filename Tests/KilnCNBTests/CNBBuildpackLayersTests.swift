import Foundation
import KilnCNB
import KilnConfine
import Testing

/// A buildpack's layers directory as bin/build leaves it, read beneath the layers directory.
@Suite struct CNBBuildpackLayersTests {
    func layersDirectory(_ files: [String: String], directories: [String] = []) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnb-layers-\(UUID().uuidString)")
        for directory in directories { try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true) }
        for (path, text) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func eachTomlIsPairedWithItsDirectoryAndTheBuildpacksOwnTomlsAreRead() throws {
        let root = try layersDirectory([
            "samples_node/node.toml": "[types]\nlaunch = true\ncache = true\n[metadata]\nversion = \"20.1.0\"\n",
            "samples_node/node/bin/node": "#!/bin/sh\n",
            "samples_node/npm-cache.toml": "[types]\ncache = true\n",
            "samples_node/previous.toml": "[types]\nlaunch = true\n",
            "samples_node/launch.toml": "[[processes]]\ntype = \"web\"\ncommand = [\"node\", \"server.js\"]\ndefault = true\n",
        ], directories: ["samples_node/stray"])
        defer { try? FileManager.default.removeItem(at: root) }
        let read = try CNBBuildpackLayers.read("samples_node", in: try ConfinedDirectory(root, label: "the layers"), buildpack: "samples/node", plan: ["node"])
        #expect(read.layers.map(\.name) == ["node", "npm-cache", "previous", "stray"])
        #expect(read.layers.map(\.outcome) == [.provided(.init(launch: true, cache: true)), .noContents, .reusedFromPreviousImage, .ignored])
        #expect(read.layers.first?.metadata?.metadata == ["version": "20.1.0"])
        #expect(read.launch?.processes.map(\.type) == ["web"])
        #expect(read.build == nil && read.store == nil)
        // A buildpack that wrote nothing has no layers.
        #expect(try CNBBuildpackLayers.read("other", in: try ConfinedDirectory(root, label: "the layers"), buildpack: "other", plan: []).layers.isEmpty)
    }

    @Test func aLinkAmongTheLayersAndABadLayerTomlAreRefusedByName() throws {
        let root = try layersDirectory(["bp/node.toml": "[types]\nlaunch = \"yes\"\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        let layers = try ConfinedDirectory(root, label: "the layers")
        #expect(throws: CNBError("bp: node.toml: [types] launch must be true or false, not \"yes\"")) {
            try CNBBuildpackLayers.read("bp", in: layers, buildpack: "bp", plan: [])
        }
        try FileManager.default.removeItem(at: root.appendingPathComponent("bp/node.toml"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("bp/etc").path, withDestinationPath: "/etc")
        #expect(throws: CNBError("bp: etc in its layers is a symbolic link: a layer and its toml must be real")) {
            try CNBBuildpackLayers.read("bp", in: layers, buildpack: "bp", plan: [])
        }
    }
}
