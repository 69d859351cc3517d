import Foundation
import KilnConfine
import KilnTestSupport
import Testing

/// Reads, walks and removals beneath a directory a stranger filled, on a real file system.
@Suite struct ConfinedDirectoryTests {
    /// A directory holding `inside/` (the confined one) beside `outside/secret`.
    func layout() throws -> (inside: URL, secret: URL) {
        let base = try TestEnvironment.temporaryDirectory("confine")
        let inside = base.appendingPathComponent("inside"), outside = base.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: inside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let secret = outside.appendingPathComponent("secret")
        try Data("root only\n".utf8).write(to: secret)
        chmod(secret.path, 0o600)
        return (inside, secret)
    }

    func link(_ name: String, to target: String, in directory: URL) throws {
        let path = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path.path, withDestinationPath: target)
    }

    @Test func aLinkThatStaysInsideResolvesAndOneThatLeavesIsRefusedByName() throws {
        let (inside, secret) = try layout()
        try Data("web: run\n".utf8).write(to: inside.appendingPathComponent("Procfile.real"))
        try link("Procfile", to: "Procfile.real", in: inside)
        try link("absolute", to: secret.path, in: inside)
        try link("climbing", to: "../outside/secret", in: inside)
        try link("a/b", to: "..", in: inside)
        try link("chain", to: "a/b/a/b/../../../outside/secret", in: inside)
        try link("proc", to: "/proc/self/root/\(secret.path)", in: inside)
        let app = try ConfinedDirectory(inside, label: "the app")
        #expect(try app.readText("Procfile", cap: 100) == "web: run\n")
        for name in ["absolute", "climbing", "chain", "proc"] {
            let error = #expect(throws: ConfinedPathError.self) { try app.read(name, cap: 100) }
            #expect(error?.description == "\(name) links outside the app: refused")
        }
        #expect(#expect(throws: ConfinedPathError.self) { try app.read("Procfile", cap: 100, links: .none) }?.reason == .isLink)
    }

    @Test func fifosDevicesDirectoriesAndOversizedFilesAreRefusedWithoutBlocking() throws {
        let (inside, _) = try layout()
        #expect(mkfifo(inside.appendingPathComponent("fifo").path, 0o644) == 0)
        try link("zero", to: "/dev/zero", in: inside)
        try FileManager.default.createDirectory(at: inside.appendingPathComponent("dir"), withIntermediateDirectories: true)
        try Data(repeating: 65, count: 2000).write(to: inside.appendingPathComponent("big"))
        let app = try ConfinedDirectory(inside, label: "the app")
        #expect(#expect(throws: ConfinedPathError.self) { try app.read("fifo", cap: 100) }?.reason == .notRegular(.fifo))
        #expect(#expect(throws: ConfinedPathError.self) { try app.read("zero", cap: 100) }?.reason == .leaves)
        #expect(#expect(throws: ConfinedPathError.self) { try app.read("dir", cap: 100) }?.reason == .notRegular(.directory))
        #expect(#expect(throws: ConfinedPathError.self) { try app.read("big", cap: 1000) }?.reason == .tooLarge(1000))
        #expect(try app.read("absent", cap: 10) == nil)
    }

    @Test func removingThroughALinkedParentRemovesTheLinkAndLeavesItsTargetAlone() throws {
        let (inside, secret) = try layout()
        try link("_build", to: secret.deletingLastPathComponent().path, in: inside)
        try link("deps/inner", to: secret.deletingLastPathComponent().path, in: inside)
        let cache = try ConfinedDirectory(inside, label: "CACHE_DIR")
        try cache.remove("_build/secret")
        try cache.remove("deps")
        #expect(try String(contentsOf: secret, encoding: .utf8) == "root only\n")
        #expect(!cache.exists("_build") && !cache.exists("deps"))
        try ConfinedDirectory.removeTree(inside)
        #expect(FileManager.default.fileExists(atPath: secret.path))
        #expect(!FileManager.default.fileExists(atPath: inside.path))
    }

    @Test func directoriesAreNeverCreatedOrOpenedThroughALink() throws {
        let (inside, secret) = try layout()
        try link("out", to: secret.deletingLastPathComponent().path, in: inside)
        let cache = try ConfinedDirectory(inside, label: "CACHE_DIR")
        #expect(#expect(throws: ConfinedPathError.self) { try cache.makeDirectories("out/x") }?.reason == .throughLink)
        #expect(#expect(throws: ConfinedPathError.self) { try cache.directory("out") }?.reason == .throughLink)
        #expect(!FileManager.default.fileExists(atPath: secret.deletingLastPathComponent().appendingPathComponent("x").path))
        let made = try cache.makeDirectories("a/b/c")
        #expect(made.path.hasSuffix("/a/b/c") && cache.exists("a/b/c", links: .none))
    }
}

/// A tree copied out of a directory a build or push wrote.
@Suite struct ConfinedCopyTests {
    @Test func aTreeIsCopiedWithLinksAsLinksAndAFifoOrAnOversizedTreeIsRefused() throws {
        let source = try TestEnvironment.temporaryDirectory("copy-source")
        try writeFiles(["bin/build*": "#!/bin/sh\n", "buildpack.toml": "api = \"0.10\"\n"], in: source)
        try FileManager.default.createSymbolicLink(atPath: source.appendingPathComponent("shadow").path, withDestinationPath: "/etc/shadow")
        let destination = try TestEnvironment.temporaryDirectory("copy-destination")
        try ConfinedDirectory(source, label: "the app").copyTree(into: ConfinedDirectory(destination, label: "the copy"), bounds: .init(entries: 100, bytes: 1 << 20))
        #expect(try String(contentsOf: destination.appendingPathComponent("buildpack.toml"), encoding: .utf8) == "api = \"0.10\"\n")
        #expect(FileManager.default.isExecutableFile(atPath: destination.appendingPathComponent("bin/build").path))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: destination.appendingPathComponent("shadow").path) == "/etc/shadow")

        let small = try TestEnvironment.temporaryDirectory("copy-small")
        let tooMany = #expect(throws: ConfinedPathError.self) {
            try ConfinedDirectory(source, label: "the app").copyTree(into: ConfinedDirectory(small, label: "the copy"), bounds: .init(entries: 2, bytes: 1 << 20))
        }
        #expect(tooMany?.reason == .tooManyEntries(2))
        let fifo = try TestEnvironment.temporaryDirectory("copy-fifo")
        #expect(mkfifo(fifo.appendingPathComponent("pipe").path, 0o644) == 0)
        let refused = #expect(throws: ConfinedPathError.self) {
            try ConfinedDirectory(fifo, label: "the app").copyTree(into: ConfinedDirectory(try TestEnvironment.temporaryDirectory("copy-out"), label: "the copy"),
                                                                     bounds: .init(entries: 10, bytes: 1 << 20))
        }
        #expect(refused?.description == "pipe in the app is a fifo, not a regular file: refused")
    }
}
