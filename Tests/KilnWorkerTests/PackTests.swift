import Foundation
import KilnBuildpacks
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The pack phase: what becomes the slug, and the slug size limit.
@Suite struct PackTests {
    /// The paths of a slug in the blob store, as tar lists them.
    func listing(_ digest: String, in scratch: PhaseScratch) async throws -> [String] {
        let file = scratch.blobs.local.path(for: try #require(.init(digest)))
        let listed = try await sh("sh", ["-c", "zstd -dc '\(file.path)' | tar tf -"])
        #expect(listed.succeeded, "\(listed.output)")
        return listed.output.split(separator: "\n").map(String.init)
    }

    @Test func theBuildDirectoryIsPackedUnderApp() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Procfile": "web: ./run\n", "lib/code.txt": "code"], in: scratch.workspace.app)
        let packed = try await Pack().run(try scratch.context(), compiled: Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil))
        let paths = try await listing(packed.digest.hex, in: scratch)
        #expect(paths.contains("app/Procfile") && paths.contains("app/lib/code.txt"), "\(paths)")
        #expect(scratch.log.text.contains("-----> Slug packed: \(packed.size) bytes"))
    }

    @Test func aReleaseTarballFromCompileIsPackedInsteadOfTheBuildDirectory() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["mix.exs": "build-only", "deps/big.ex": "build-only"], in: scratch.workspace.app)
        let release = scratch.root.appendingPathComponent("release")
        try writeFiles(["bin/myapp*": "#!/bin/sh\n", "releases/1.0.0/start.boot": "boot"], in: release)
        let tarball = scratch.workspace.releaseOutput
        let made = try await sh("tar", ["-czf", tarball.path, "-C", release.path, "."])
        #expect(made.succeeded, "\(made.output)")
        let compiled = Compiled(declaration: ReleaseDeclaration(), releaseOutput: ReleaseOutput(release: "myapp", version: "1.0.0", file: tarball))
        let packed = try await Pack().run(try scratch.context(), compiled: compiled)
        let paths = try await listing(packed.digest.hex, in: scratch)
        #expect(paths.contains("app/bin/myapp") && paths.contains("app/releases/1.0.0/start.boot"), "\(paths)")
        #expect(!paths.contains { $0.contains("mix.exs") || $0.contains("deps") }, "\(paths)")
    }

    @Test func aSlugOverTheLimitFailsNamingTheBiggestDirectoriesAndIsNotKept() async throws {
        var scratch = try PhaseScratch()
        scratch.configuration.slugSizeLimit = 64 << 10
        let app = scratch.workspace.app
        try FileManager.default.createDirectory(at: app.appendingPathComponent("assets/video"), withIntermediateDirectories: true)
        // Random bytes: compression cannot bring them under the limit.
        let random = try await sh("sh", ["-c", "head -c 300000 /dev/urandom > '\(app.path)/assets/video/intro.bin' && head -c 100000 /dev/urandom > '\(app.path)/assets/logo.bin'"])
        #expect(random.succeeded)
        try writeFiles(["lib/code.txt": "small"], in: app)
        let message = await failure { try await Pack().run(try scratch.context(), compiled: Compiled(declaration: ReleaseDeclaration(), releaseOutput: nil)) }
        let text = try #require(message)
        #expect(text.hasPrefix("the slug is "), "\(text)")
        #expect(text.contains("over this farm's limit of 66 kB"), "\(text)")
        #expect(text.contains("Biggest directories (uncompressed): assets 0.4 MB, assets/video 0.3 MB, lib 0 kB. Leave build-only files out of the app directory"), "\(text)")
        // No release may use it: the blob store keeps nothing of it.
        let kept = FileManager.default.enumerator(atPath: scratch.blobs.local.root.path)?.allObjects.compactMap { $0 as? String }
            .filter { !$0.hasPrefix("tmp") && $0.split(separator: "/").count == 3 } ?? []
        #expect(kept.isEmpty, "\(kept)")
    }
}
