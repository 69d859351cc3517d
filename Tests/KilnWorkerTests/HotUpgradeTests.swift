import Foundation
import KilnBuildpacks
import KilnSigning
import KilnSlug
import KilnTestSupport
import Testing
@testable import KilnCatalog
@testable import KilnWorker

/// A hot build's steps around compile.
@Suite struct HotUpgradeTests {
    @Test func aHotBuildWhoseSlugIsAReleaseTarballIsRefused() async throws {
        let scratch = try PhaseScratch()
        // Even with an upgrade record: the tarball, not the build directory, would be the slug.
        try writeFiles([HotUpgrade.record: #"{"release":"myapp","from":"1.0.0","to":"1.0.1","command":"bin/hot-upgrade"}"#], in: scratch.workspace.app)
        let compiled = Compiled(declaration: ReleaseDeclaration(),
                                releaseOutput: ReleaseOutput(release: "myapp", version: "1.0.1", file: scratch.workspace.releaseOutput))
        let context = try scratch.context(try PhaseScratch.build(hot: true))
        let message = await failure { try await HotUpgrade(keys: TrustedFarmKeys([])).collect(context, compiled: compiled, buildpacks: []) }
        #expect(message?.hasPrefix("Hot upgrade impossible: the slug is the release tarball a buildpack left in CACHE_DIR/out, which carries no OTP upgrade.") == true,
                "\(message ?? "no failure")")
    }

    @Test func aHotBuildWithoutAnUpgradeRecordNamesItsBuildpacks() async throws {
        let scratch = try PhaseScratch()
        let context = try scratch.context(try PhaseScratch.build(hot: true))
        let buildpack = Buildpack(reference: "node", directory: scratch.workspace.buildpacks)
        let message = await failure {
            try await HotUpgrade(keys: TrustedFarmKeys([])).collect(context, compiled: Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil), buildpacks: [buildpack])
        }
        #expect(message?.hasPrefix("Hot upgrade impossible: node made no OTP upgrade") == true, "\(message ?? "no failure")")
    }

    @Test func aBuildThatIsNotHotCollectsNothingAndDropsACommittedRecord() async throws {
        let scratch = try PhaseScratch()
        // A record committed with the source is not the builder's: it goes before compile.
        try writeFiles([HotUpgrade.record: "{}"], in: scratch.workspace.app)
        let context = try scratch.context()
        #expect(try await HotUpgrade(keys: TrustedFarmKeys([])).fetchRunning(context) == nil)
        #expect(!FileManager.default.fileExists(atPath: scratch.workspace.app.appendingPathComponent(HotUpgrade.record).path))
        #expect(try await HotUpgrade(keys: TrustedFarmKeys([])).collect(context, compiled: Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil), buildpacks: []) == nil)
    }

    @Test func aHotBuildOfAnAppWithoutAReleaseIsRefused() async throws {
        let scratch = try PhaseScratch()
        let message = await failure { try await HotUpgrade(keys: TrustedFarmKeys([])).fetchRunning(try scratch.context(try PhaseScratch.build(hot: true))) }
        #expect(message?.hasPrefix("Hot upgrade impossible: demo has no release yet to upgrade from.") == true, "\(message ?? "no failure")")
    }

    @Test func aHotBuildOnARunningSlugThatARevokedKeySignedFailsNamingTheKey() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Procfile": "web: ./run\n"], in: scratch.workspace.app)
        let keyFile = scratch.root.appendingPathComponent("keys/farm-ed25519.pem")
        let old = try FarmKey.loadOrCreate(at: keyFile)
        // The running release: signed with the key that is then rotated away and revoked.
        let compiled = Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil)
        let packed = try await Pack().run(try scratch.context(), compiled: compiled)
        let signed = try await Sign(key: old, stack: .host).run(try scratch.context(), packed: packed, compiled: compiled, buildpacks: [], upgrade: nil)
        let (_, current) = try FarmKeyring.rotate(at: keyFile)
        let manifest = try scratch.blobs.data(for: signed.manifestDigest), signature = try scratch.blobs.data(for: signed.signatureDigest)
        // Retired, it still verifies: what fails below fails for the revocation alone.
        _ = try SignedSlug.verify(manifest: manifest, signature: signature, slug: nil, with: try FarmKeyring.load(current: current, keyFile: keyFile).trusted)
        _ = try FarmKeyring.revoke(old.publicKey.id, reason: "laptop stolen", keyFile: keyFile)

        var settings = BuildSettings(app: App(name: "demo", deployBranch: "main", createdAt: Date()), config: ConfigVersion(app: "demo", version: 0, vars: [:]))
        settings.running = RunningRelease(version: 3, build: "b-0", slugDigest: packed.digest.hex,
                                          manifestDigest: signed.manifestDigest.hex, signatureDigest: signed.signatureDigest.hex)
        let context = BuildContext(build: try PhaseScratch.build(hot: true), settings: settings, workspace: scratch.workspace,
                                   configuration: scratch.configuration, blobs: scratch.blobs, logSink: scratch.log)
        let keys = try FarmKeyring.load(current: current, keyFile: keyFile).trusted
        let message = await failure { try await HotUpgrade(keys: keys).fetchRunning(context) }
        #expect(message?.hasPrefix("Hot upgrade impossible: release v3 of demo (build b-0) was signed with farm key \(old.publicKey.id), which was revoked at ") == true,
                "\(message ?? "no failure")")
        #expect(message?.contains("(laptop stolen)") == true && message?.contains("A push without KILN-HOT: true deploys this commit by restart") == true, "\(message ?? "no failure")")
    }
}
