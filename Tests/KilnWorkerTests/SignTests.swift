import Foundation
import KilnBuildpacks
import KilnSandbox
import KilnSigning
import KilnSlug
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The sign phase of a slug: a manifest any holder of the farm's public key can check.
@Suite struct SignTests {
    @Test func theManifestDescribesTheSlugAndVerifiesWithTheFarmKey() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Procfile": "web: ./run\n"], in: scratch.workspace.app)
        let key = try FarmKey.loadOrCreate(at: scratch.root.appendingPathComponent("keys/farm.pem"))
        let context = try scratch.context(configVersion: 4)
        var declaration = ReleaseDeclaration()
        declaration.processTypes = try ProcessTypes.parseProcfile("web: ./run\n")
        declaration.addons = ["heroku-redis"]
        let compiled = Compiled(declaration: declaration, releaseOutput: nil)
        let packed = try await Pack().run(context, compiled: compiled)
        let buildpack = Buildpack(reference: "static", directory: scratch.workspace.buildpacks)
        let signed = try await Sign(key: key, stack: .host).run(context, packed: packed, compiled: compiled, buildpacks: [buildpack], upgrade: nil)

        let blobs = scratch.blobs
        let manifest = try SignedSlug.verify(manifest: try blobs.data(for: signed.manifestDigest), signature: try blobs.data(for: signed.signatureDigest),
                                             slug: blobs.local.path(for: packed.digest), with: key.publicKey)
        #expect(manifest.app == "demo" && manifest.build == "b-1")
        #expect(manifest.sha256 == packed.digest.hex && manifest.size == packed.size)
        #expect(manifest.processTypes == ["web": "./run"])
        #expect(manifest.addons == ["heroku-redis"])
        #expect(manifest.buildpacks == ["static"])
        #expect(manifest.configVersion == 4)

        // Another farm's key does not vouch for it.
        let other = try FarmKey.loadOrCreate(at: scratch.root.appendingPathComponent("keys/other.pem"))
        #expect(throws: (any Error).self) {
            try SignedSlug.verify(manifest: try blobs.data(for: signed.manifestDigest), signature: try blobs.data(for: signed.signatureDigest),
                                  slug: blobs.local.path(for: packed.digest), with: other.publicKey)
        }
    }
}
