import Foundation
import KilnBuildpacks
import KilnTestSupport
import Testing
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
        let message = await failure { try await HotUpgrade(keys: []).collect(context, compiled: compiled, buildpacks: []) }
        #expect(message?.hasPrefix("Hot upgrade impossible: the slug is the release tarball a buildpack left in CACHE_DIR/out, which carries no OTP upgrade.") == true,
                "\(message ?? "no failure")")
    }

    @Test func aHotBuildWithoutAnUpgradeRecordNamesItsBuildpacks() async throws {
        let scratch = try PhaseScratch()
        let context = try scratch.context(try PhaseScratch.build(hot: true))
        let buildpack = Buildpack(reference: "node", directory: scratch.workspace.buildpacks)
        let message = await failure {
            try await HotUpgrade(keys: []).collect(context, compiled: Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil), buildpacks: [buildpack])
        }
        #expect(message?.hasPrefix("Hot upgrade impossible: node made no OTP upgrade") == true, "\(message ?? "no failure")")
    }

    @Test func aBuildThatIsNotHotCollectsNothingAndDropsACommittedRecord() async throws {
        let scratch = try PhaseScratch()
        // A record committed with the source is not the builder's: it goes before compile.
        try writeFiles([HotUpgrade.record: "{}"], in: scratch.workspace.app)
        let context = try scratch.context()
        #expect(try await HotUpgrade(keys: []).fetchRunning(context) == nil)
        #expect(!FileManager.default.fileExists(atPath: scratch.workspace.app.appendingPathComponent(HotUpgrade.record).path))
        #expect(try await HotUpgrade(keys: []).collect(context, compiled: Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil), buildpacks: []) == nil)
    }

    @Test func aHotBuildOfAnAppWithoutAReleaseIsRefused() async throws {
        let scratch = try PhaseScratch()
        let message = await failure { try await HotUpgrade(keys: []).fetchRunning(try scratch.context(try PhaseScratch.build(hot: true))) }
        #expect(message?.hasPrefix("Hot upgrade impossible: demo has no release yet to upgrade from.") == true, "\(message ?? "no failure")")
    }
}
