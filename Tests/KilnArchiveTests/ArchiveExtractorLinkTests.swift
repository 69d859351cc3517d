import Foundation
import KilnArchive
import KilnTestSupport
import Testing

/// A fresh `work/app` under a new scratch directory, with `work/outside` beside it.
private func destination() throws -> (scratch: URL, app: URL, outside: URL) {
    let scratch = try TestEnvironment.temporaryDirectory()
    let app = scratch.appendingPathComponent("work/app")
    let outside = scratch.appendingPathComponent("work/outside")
    try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
    return (scratch, app, outside)
}

/// Whether anything, even a dangling link, is at `url`.
private func exists(_ url: URL) -> Bool {
    var status = stat()
    return lstat(url.path, &status) == 0
}

@Suite struct ArchiveExtractorLinkTests {
    @Test(arguments: [false, true])
    func aChainOfLinksThatEscapesIsRefusedWhateverTheOrderOfItsEntries(chainFirst: Bool) async throws {
        let (scratch, app, _) = try destination()
        let step = TarMember.symlink("a/b", target: "..")
        let escape = TarMember.symlink("x", target: "a/b/a/b/../../../..")
        let archive = try await makeTar([.directory("a/")] + (chainFirst ? [step, escape] : [escape, step]), in: scratch)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
        #expect(error?.code == .unsafeEntry)
        #expect(error?.message.contains("archive entry x is a symbolic link to a/b/a/b/../../../.., which resolves outside the app directory (through the link a/b): refused") == true,
                "\(error?.message ?? "")")
        // Whether it was refused before it was written or found at the end, no escaping link is left.
        #expect(!exists(app.appendingPathComponent("x")))
        #expect(exists(app.appendingPathComponent("a/b")))
    }

    @Test func aLinkBuiltOnAnEarlierEscapingOneIsRefusedAsWell() async throws {
        // `up` alone is harmless (it names the root); `deeper` only escapes through it.
        let (scratch, app, _) = try destination()
        let archive = try await makeTar([
            .symlink("d/up", target: ".."),
            .symlink("deeper", target: "d/up/.."),
        ], in: scratch)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
        #expect(error?.message.contains("archive entry deeper is a symbolic link to d/up/.., which resolves outside the app directory (through the link d/up): refused") == true,
                "\(error?.message ?? "")")
    }

    @Test(arguments: ["../\u{301}", "../\u{301}/../etc", "a/\u{301}/../../.."])
    func aTargetIsSplitAtEverySlashEvenBeforeACombiningMark(target: String) async throws {
        // As Characters, "/" and a combining mark after it are one, which would hide the `..` before it.
        let (scratch, app, _) = try destination()
        let archive = try await makeTar([.symlink("x", target: target)], in: scratch)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
        #expect(error?.message.contains("which resolves outside the app directory: refused") == true, "\(error?.message ?? "")")
        #expect(!exists(app.appendingPathComponent("x")))
    }

    @Test(arguments: [
        [TarMember.symlink("one", target: "two"), .symlink("two", target: "one")],
        [TarMember.symlink("self", target: "self/inner")],
        [TarMember.symlink("two", target: "one/x"), .symlink("one", target: "two/y")],
    ])
    func aLinkLoopIsRefused(members: [TarMember]) async throws {
        let (scratch, app, _) = try destination()
        let archive = try await makeTar(members, in: scratch)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
        #expect(error?.code == .unsafeEntry)
        #expect(error?.message.contains("which never resolves: it follows more than 40 links (a loop through") == true, "\(error?.message ?? "")")
    }

    @Test func linksThatStayInsideStillExtract() async throws {
        let (scratch, app, _) = try destination()
        let archive = try await makeTar([
            .directory("vendor/lib/"),
            .file("vendor/lib/libz.so.1", "elf"),
            .symlink("vendor/lib/libz.so", target: "libz.so.1"),
            // A link to a link, reaching up and back down, and one to the root itself.
            .symlink("lib/current", target: "../vendor/lib/libz.so"),
            .symlink("lib/root", target: ".."),
            .symlink("chain", target: "lib/root/lib/current"),
            // Dangling, but inside: a later build step may create it.
            .symlink("tmp/cache", target: "../.cache/later"),
            .file("README", "hello"),
            .hardlink("README.copy", target: "README"),
            .hardlink("README.again", target: "README.copy"),
        ], in: scratch)
        let summary = try ArchiveExtractor().extract(archive: archive, into: app)
        #expect(summary.entries == 10)
        #expect(try String(contentsOf: app.appendingPathComponent("chain"), encoding: .utf8) == "elf")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: app.appendingPathComponent("tmp/cache").path) == "../.cache/later")
        var original = stat(), copy = stat()
        #expect(lstat(app.appendingPathComponent("README").path, &original) == 0)
        #expect(lstat(app.appendingPathComponent("README.again").path, &copy) == 0)
        #expect(original.st_ino == copy.st_ino)
    }

    @Test(arguments: [
        ([TarMember.hardlink("early", target: "late"), .file("late", "content")], "late, which is not an earlier entry of the archive"),
        ([TarMember.directory("dir/"), .hardlink("early", target: "dir")], "dir, which is a directory"),
        ([TarMember.file("real", "x"), .symlink("alias", target: "real"), .hardlink("early", target: "alias")], "alias, which is a symbolic link"),
        ([TarMember.hardlink("early", target: "../outside/secret")], "../outside/secret, outside the app directory"),
        ([TarMember.file("real", "x"), .symlink("alias", target: "."), .hardlink("early", target: "alias/real")], "alias/real, which is not an earlier entry"),
    ])
    func aHardLinkToAnythingButAnEarlierRegularFileIsRefused(members: [TarMember], reason: String) async throws {
        let (scratch, app, outside) = try destination()
        try Data("secret".utf8).write(to: outside.appendingPathComponent("secret"))
        let archive = try await makeTar(members, in: scratch)
        let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
        #expect(error?.code == .unsafeEntry)
        #expect(error?.message.contains("archive entry early is a hard link to \(reason)") == true, "\(error?.message ?? "")")
        #expect(!exists(app.appendingPathComponent("early")))
    }

    @Test func nothingIsWrittenThroughALinkInTheTree() async throws {
        let (scratch, app, outside) = try destination()
        // A link the archive did not make (left by an earlier step) is no way out either.
        try FileManager.default.createSymbolicLink(atPath: app.appendingPathComponent("left").path, withDestinationPath: outside.path)
        for (members, planted) in [
            ([TarMember.directory("real/"), .symlink("alias", target: "real"), .file("alias/file", "through a link")], app.appendingPathComponent("real/file")),
            ([TarMember.directory("real/"), .symlink("alias", target: "real"), .directory("alias/sub/")], app.appendingPathComponent("real/sub")),
            ([TarMember.file("left/planted", "evil")], outside.appendingPathComponent("planted")),
        ] {
            let archive = try await makeTar(members, in: scratch)
            let error = #expect(throws: ArchiveError.self) { try ArchiveExtractor().extract(archive: archive, into: app) }
            #expect(error?.code == .unsafeEntry)
            #expect(error?.message.contains("cannot be written") == true, "\(error?.message ?? "")")
            #expect(!exists(planted), "\(planted.path)")
        }
    }

    @Test func aFileAtALinksPathReplacesTheLinkInsteadOfWritingThroughIt() async throws {
        let (scratch, app, _) = try destination()
        let archive = try await makeTar([
            .file("real", "original"),
            .symlink("alias", target: "real"),
            .file("alias", "replacement"),
        ], in: scratch)
        _ = try ArchiveExtractor().extract(archive: archive, into: app)
        #expect(try String(contentsOf: app.appendingPathComponent("real"), encoding: .utf8) == "original")
        #expect(try String(contentsOf: app.appendingPathComponent("alias"), encoding: .utf8) == "replacement")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: app.appendingPathComponent("alias").path)) == nil)
    }
}
