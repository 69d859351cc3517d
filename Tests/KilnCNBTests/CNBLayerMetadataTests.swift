import Foundation
import KilnCNB
import Testing

/// `<layer>.toml` as bin/build writes it, and what becomes of the layer; bad ones refused by name.
@Suite struct CNBLayerMetadataTests {
    @Test func typesAndMetadataAreRead() throws {
        let layer = try CNBLayerMetadata.parse("[types]\nlaunch = true\ncache = true\n[metadata]\nversion = \"20.1\"\n[metadata.deps]\nnpm = \"10\"\n", buildpack: "heroku/nodejs", layer: "node")
        #expect(layer.types == .init(launch: true, build: false, cache: true))
        #expect(layer.metadata["version"] == "20.1")
        #expect(layer.metadataTOML.contains("npm = '10'") || layer.metadataTOML.contains("npm = \"10\""))
    }

    @Test func unsetTypesAreAllFalse() throws {
        #expect(try CNBLayerMetadata.parse("", buildpack: "b", layer: "tmp").types.isIgnored)
    }

    @Test func badLayerTomlsAreRefusedNamingBuildpackAndLayer() {
        for (text, layer, message) in [
            ("[types]\nlaunch = \"yes\"\n", "node", "heroku/nodejs: node.toml: [types] launch must be true or false, not \"yes\""),
            ("launch = true\n", "node", "heroku/nodejs: node.toml: launch belongs in the [types] table (Buildpack API 0.6 and later), not at the top level"),
            ("types = 1\n", "node", "heroku/nodejs: node.toml: types must be a table ([types])"),
            ("[types]\n", "launch", "heroku/nodejs: a layer may not be named launch (build, launch and store are the lifecycle's)"),
        ] {
            #expect(throws: CNBError(message)) { try CNBLayerMetadata.parse(text, buildpack: "heroku/nodejs", layer: layer) }
        }
    }

    @Test func aLayerTomlThatIsNotTomlIsRefusedWithItsLine() {
        #expect { try CNBLayerMetadata.parse("[types]\nlaunch = true\n[types\n", buildpack: "heroku/nodejs", layer: "node") } throws: { error in
            (error as? CNBError)?.message.hasPrefix("heroku/nodejs: node.toml is not valid TOML (line 3): ") == true
        }
    }

    @Test func aLayersOutcomeFollowsItsTypesAndDirectory() {
        let launch = CNBLayerMetadata(types: .init(launch: true))
        let cache = CNBLayerMetadata(types: .init(cache: true))
        #expect(CNBLayerOutcome.of(launch, hasDirectory: true) == .provided(.init(launch: true)))
        #expect(CNBLayerOutcome.of(launch, hasDirectory: false) == .reusedFromPreviousImage)
        #expect(CNBLayerOutcome.of(cache, hasDirectory: false) == .noContents)
        #expect(CNBLayerOutcome.of(CNBLayerMetadata(), hasDirectory: true) == .ignored)
        #expect(CNBLayerOutcome.of(nil, hasDirectory: true) == .ignored)
    }
}
