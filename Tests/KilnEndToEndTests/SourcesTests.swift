import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// Where a build's code and buildpacks may come from besides a plain push:
/// submodules, source archives at a URL, buildpack tarballs.
@Suite struct SourcesTests {
    @Test func aPushWithSubmodulesBuildsThemAsPartOfTheSource() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("withsub")
            let nested = try await makeGitRepository(["deep.txt": "nested submodule content\n"])
            let library = try await makeGitRepository(["lib.txt": "library content\n"])
            try await sh("git", ["-c", "protocol.file.allow=always", "submodule", "add", "-q", "file://\(nested.path)", "vendor/deep"], in: library)
            try await sh("git", ["commit", "-qm", "nested"], in: library)
            let repo = try await makeGitRepository([
                "Procfile": "web: ./run\n",
                ".buildpacks": "procfile\n",
            ])
            try await sh("git", ["-c", "protocol.file.allow=always", "submodule", "add", "-q", "file://\(library.path)", "libs/library"], in: repo)
            try await sh("git", ["commit", "-qm", "add a submodule"], in: repo)
            let pushed = try await sh("git", ["push", farm.remote("withsub", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("Submodule libs/library at"), "\(pushed.output)")
            #expect(pushed.output.contains("Submodule libs/library/vendor/deep at"), "\(pushed.output)")
            let slug = try TestEnvironment.temporaryDirectory("sub-slug")
            try await farm.kiln("slug", "get", "b-1", "-o", slug.path)
            try await sh("tar", ["--zstd", "-xf", slug.appendingPathComponent("slug.tar.zst").path, "-C", slug.path])
            #expect(try String(contentsOf: slug.appendingPathComponent("app/libs/library/lib.txt"), encoding: .utf8) == "library content\n")
            #expect(try String(contentsOf: slug.appendingPathComponent("app/libs/library/vendor/deep/deep.txt"), encoding: .utf8) == "nested submodule content\n")

            // A submodule whose URL cannot provide its commit rejects the push, naming it.
            try writeFiles([".gitmodules": "[submodule \"libs/library\"]\n\tpath = libs/library\n\turl = file://\(nested.path)\n"], in: repo)
            try await sh("git", ["add", ".gitmodules"], in: repo)
            try await sh("git", ["commit", "-qm", "moved away"], in: repo)
            // The cached copy already holds the pinned commit: make the pin one nobody has.
            try await sh("git", ["-C", library.path, "commit", "-q", "--allow-empty", "-m", "unpublished"])
            try await sh("git", ["-C", "libs/library", "fetch", "-q", "file://\(library.path)", "main"], in: repo)
            try await sh("git", ["-C", "libs/library", "checkout", "-q", "FETCH_HEAD"], in: repo)
            try await sh("git", ["add", "libs/library"], in: repo)
            try await sh("git", ["commit", "-qm", "pin a commit the URL does not have"], in: repo)
            let broken = try await sh("git", ["push", farm.remote("withsub", key: key), "main"], in: repo)
            #expect(!broken.succeeded)
            #expect(broken.output.contains("submodule libs/library: cannot fetch commit"), "\(broken.output)")
        }
    }

    @Test func aSourceArchiveURLIsBuiltAndHostileArchivesAreRefusedNamingTheEntry() async throws {
        let scratch = try TestEnvironment.temporaryDirectory("archives")
        let port = try KilnFarm.freePort()
        let files = Command("python3", ["-m", "http.server", "-b", "127.0.0.1", "\(port)", "-d", scratch.path])
        let served = "http://127.0.0.1:\(port)"
        try await withRunning([files]) { try await KilnFarm.with(workers: 1) { farm in
            try await KilnFarm.waitForListener(served)
            _ = try await farm.createApp("fromurl")
            // As GitHub serves them: everything under one top-level directory.
            let tree = scratch.appendingPathComponent("fromurl-1.0")
            try writeFiles(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n", "index.html": "<p>from a URL</p>\n"], in: tree)
            try await sh("tar", ["-czf", scratch.appendingPathComponent("good.tar.gz").path, "-C", scratch.path, "fromurl-1.0"])
            let built = try await farm.kiln("builds", "create", "--app", "fromurl", "--source-url", "\(served)/good.tar.gz")
            #expect(built.succeeded, "\(built.output)")
            #expect(built.output.contains("Procfile app detected"), "\(built.output)")
            #expect(built.output.contains("-----> Build b-1 done"))

            // A zip is accepted too.
            try await sh("python3", ["-c", """
                import zipfile
                with zipfile.ZipFile('\(scratch.path)/good.zip', 'w') as z:
                    z.writestr('Procfile', 'web: ./run\\n')
                    z.writestr('index.html', '<p>zip</p>\\n')
                """])
            let zipped = try await farm.kiln("builds", "create", "--app", "fromurl", "--source-url", "\(served)/good.zip")
            #expect(zipped.succeeded, "\(zipped.output)")

            // Hostile archives, each refused with its entry named; no build is queued for them.
            try await sh("python3", ["-c", """
                import io, tarfile
                def make(name, build):
                    with tarfile.open('\(scratch.path)/' + name, 'w:gz') as t:
                        build(t)
                def member(t, path, data=b'x', kind=tarfile.REGTYPE, link=''):
                    info = tarfile.TarInfo(path); info.type = kind; info.linkname = link; info.size = len(data) if kind == tarfile.REGTYPE else 0
                    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
                make('traversal.tar.gz', lambda t: member(t, '../../etc/evil'))
                make('absolute.tar.gz', lambda t: member(t, '/etc/evil'))
                make('symlink.tar.gz', lambda t: member(t, 'escape', kind=tarfile.SYMTYPE, link='../../../etc'))
                make('hardlink.tar.gz', lambda t: member(t, 'copy', kind=tarfile.LNKTYPE, link='../../etc/passwd'))
                """])
            for (name, named) in [("traversal", "../../etc/evil"), ("absolute", "/etc/evil"), ("symlink", "escape"), ("hardlink", "../../etc/passwd")] {
                let refused = try await farm.kiln("builds", "create", "--app", "fromurl", "--source-url", "\(served)/\(name).tar.gz")
                #expect(!refused.succeeded, "\(name): \(refused.output)")
                #expect(refused.output.contains("was refused") && refused.output.contains(named), "\(name): \(refused.output)")
            }
            try Data("this is not an archive".utf8).write(to: scratch.appendingPathComponent("junk.tar.gz"))
            let junk = try await farm.kiln("builds", "create", "--app", "fromurl", "--source-url", "\(served)/junk.tar.gz")
            #expect(!junk.succeeded && junk.output.contains("was refused"), "\(junk.output)")
            let missing = try await farm.kiln("builds", "create", "--app", "fromurl", "--source-url", "\(served)/none.tar.gz")
            #expect(!missing.succeeded && missing.output.contains("cannot download \(served)/none.tar.gz"), "\(missing.output)")
            // A file of the server's own is not a source.
            let local = try await farm.kiln("builds", "create", "--app", "fromurl", "--source-url", "file://\(scratch.path)/good.tar.gz")
            #expect(!local.succeeded && local.output.contains("fetched over https or http"), "\(local.output)")
            let builds = try await farm.kiln("builds", "list", "--app", "fromurl", "--json")
            #expect(builds.output.components(separatedBy: "\"id\"").count - 1 == 2, "\(builds.output)")
        } }
    }

    @Test func aBuildpackTarballURLIsFetchedUnpackedAndRun() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("tarpack")
            let scratch = try TestEnvironment.temporaryDirectory("tarpack")
            try writeFiles([
                "packed-buildpack/bin/detect*": "#!/bin/sh\necho Tarball\n",
                "packed-buildpack/bin/compile*": "#!/bin/sh\necho \"-----> compiled by the tarball buildpack\"\n",
            ], in: scratch)
            try await sh("tar", ["-czf", scratch.appendingPathComponent("buildpack.tgz").path, "-C", scratch.path, "packed-buildpack"])
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(scratch.path)/buildpack.tgz\n"])
            let pushed = try await sh("git", ["push", farm.remote("tarpack", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("Downloading buildpack file://\(scratch.path)/buildpack.tgz"))
            #expect(pushed.output.contains("compiled by the tarball buildpack"))
        }
    }

    @Test func buildpacksPinnedToARefRunInOrderAndChainTheirExports() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("pinned")
            let first = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho First\n",
                "bin/compile*": "#!/bin/sh\necho \"-----> first at version one\"\necho 'export CHAINED=from-the-first' > \"$(dirname \"$0\")/../export\"\n",
            ])
            try await sh("git", ["tag", "v1"], in: first)
            // The branch moves on; the pin must not.
            try writeFiles(["bin/compile*": "#!/bin/sh\necho \"-----> first at version two\"\n"], in: first)
            try await sh("git", ["commit", "-qam", "v2"], in: first)
            let second = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Second\n",
                "bin/compile*": "#!/bin/sh\necho \"-----> second sees CHAINED=$CHAINED\"\n",
            ])
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(first.path)#v1\nfile://\(second.path)\n"])
            let pushed = try await sh("git", ["push", farm.remote("pinned", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            #expect(pushed.output.contains("first at version one") && !pushed.output.contains("version two"), "\(pushed.output)")
            #expect(pushed.output.contains("second sees CHAINED=from-the-first"), "\(pushed.output)")
            let manifest = try TestEnvironment.temporaryDirectory("pinned-slug")
            try await farm.kiln("slug", "get", "b-1", "-o", manifest.path)
            let recorded = try String(contentsOf: manifest.appendingPathComponent("manifest.json"), encoding: .utf8)
            #expect(recorded.contains("file://\(first.path)#v1"), "\(recorded)")
        }
    }
}
