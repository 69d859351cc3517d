import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// Every fetch a build makes is named by the app: a farm started without
/// fetch options refuses local paths and file URLs, and any address that is
/// not the public internet (loopback, the cloud metadata address), for
/// buildpacks, the BUILDPACK_URL config var, source URLs (redirects
/// included) and submodules, with errors that name what was refused and
/// what the operator can allow.
@Suite struct FetchGuardTests {
    @Test func aFarmWithoutFetchOptionsRefusesLocalPathsAndInternalAddressesNamingThem() async throws {
        try await KilnFarm.with(workers: 1, strictFetching: true) { farm in
            let key = try await farm.createApp("hostile")
            let remote = farm.remote("hostile", key: key)

            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file:///etc\n"])
            let local = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!local.succeeded)
            #expect(local.output.contains("the buildpack file:///etc (.buildpacks line 1) was refused"), "\(local.output)")
            #expect(local.output.contains("--buildpack-dir"), "\(local.output)")

            try writeFiles([".buildpacks": "# a comment\nhttps://127.0.0.1:9/buildpack.git\n"], in: repo)
            try await sh("git", ["commit", "-qam", "loopback buildpack"], in: repo)
            let loopback = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!loopback.succeeded)
            #expect(loopback.output.contains("(.buildpacks line 2) was refused"), "\(loopback.output)")
            #expect(loopback.output.contains("the address guard refused 127.0.0.1 (a loopback address)"), "\(loopback.output)")
            #expect(loopback.output.contains("--allow-fetch-from 127.0.0.1/32"), "\(loopback.output)")

            // A tarball URL goes through libcurl, whose every connection the guard checks.
            try await sh("git", ["rm", "-q", ".buildpacks"], in: repo)
            try await sh("git", ["commit", "-qm", "no buildpacks file"], in: repo)
            let set = try await farm.kiln("config", "set", "--app", "hostile", "BUILDPACK_URL=http://169.254.169.254/latest/buildpack.tgz")
            #expect(set.succeeded, "\(set.output)")
            let metadata = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!metadata.succeeded)
            #expect(metadata.output.contains("(the BUILDPACK_URL config var) was refused"), "\(metadata.output)")
            #expect(metadata.output.contains("the address guard refused 169.254.169.254 (the cloud metadata address)"), "\(metadata.output)")
            try await farm.kiln("config", "unset", "--app", "hostile", "BUILDPACK_URL")

            // A source URL on loopback: refused before anything is queued.
            let source = try await farm.kiln("builds", "create", "--app", "hostile", "--source-url", "http://127.0.0.1:\(farm.port)/x.tar.gz")
            #expect(!source.succeeded)
            #expect(source.output.contains("the address guard refused 127.0.0.1"), "\(source.output)")

            // A submodule at a local path: the push hook refuses it, naming it.
            let library = try await makeGitRepository(["lib.txt": "library\n"])
            try await sh("git", ["-c", "protocol.file.allow=always", "submodule", "add", "-q", "file://\(library.path)", "libs/library"], in: repo)
            try writeFiles([".gitmodules": "[submodule \"libs/library\"]\n\tpath = libs/library\n\turl = \(library.path)\n", ".buildpacks": "procfile\n"], in: repo)
            try await sh("git", ["add", ".gitmodules", ".buildpacks", "libs/library"], in: repo)
            try await sh("git", ["commit", "-qm", "a local submodule"], in: repo)
            let submodule = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!submodule.succeeded)
            #expect(submodule.output.contains("submodule libs/library (.gitmodules) was refused: \(library.path) is a local path"), "\(submodule.output)")
            // The file:// form of it is refused as well: the operator listed no directory.
            try writeFiles([".gitmodules": "[submodule \"libs/library\"]\n\tpath = libs/library\n\turl = file://\(library.path)\n"], in: repo)
            try await sh("git", ["commit", "-qam", "a file submodule"], in: repo)
            let fileSubmodule = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!fileSubmodule.succeeded)
            #expect(fileSubmodule.output.contains("submodule libs/library (.gitmodules) was refused"), "\(fileSubmodule.output)")

            let builds = try await farm.kiln("builds", "list", "--app", "hostile", "--json")
            #expect(!builds.output.contains("\"succeeded\""), "\(builds.output)")
        }
    }

    @Test func aSourceURLThatRedirectsFromAnAllowedHostToARefusedOneIsRefused() async throws {
        let scratch = try TestEnvironment.temporaryDirectory("redirect")
        let tree = scratch.appendingPathComponent("app")
        try writeFiles(["Procfile": "web: ./run\n", "index.html": "<p>redirected</p>\n"], in: tree)
        try await sh("tar", ["-czf", scratch.appendingPathComponent("good.tar.gz").path, "-C", tree.path, "."])
        let allowedPort = try KilnFarm.freePort(), refusedPort = try KilnFarm.freePort()
        // The same archive on both loopback addresses; the allowed one also redirects to the refused one.
        let redirector = Command("python3", ["-c", """
            import functools, http.server, sys
            class Handler(http.server.SimpleHTTPRequestHandler):
                def do_GET(self):
                    if self.path.startswith('/redirect'):
                        self.send_response(302)
                        self.send_header('Location', sys.argv[2])
                        self.end_headers()
                    else:
                        super().do_GET()
            http.server.ThreadingHTTPServer(('127.0.0.2', int(sys.argv[1])), functools.partial(Handler, directory=sys.argv[3])).serve_forever()
            """, "\(allowedPort)", "http://127.0.0.1:\(refusedPort)/good.tar.gz", scratch.path])
        let refusedServer = Command("python3", ["-m", "http.server", "-b", "127.0.0.1", "\(refusedPort)", "-d", scratch.path])
        try await withRunning([redirector, refusedServer]) {
            try await KilnFarm.with(workers: 1, options: ["--allow-fetch-from", "127.0.0.2/32"], strictFetching: true) { farm in
                try await KilnFarm.waitForListener("http://127.0.0.2:\(allowedPort)/good.tar.gz")
                try await KilnFarm.waitForListener("http://127.0.0.1:\(refusedPort)/good.tar.gz")
                _ = try await farm.createApp("redirected")
                let direct = try await farm.kiln("builds", "create", "--app", "redirected", "--source-url", "http://127.0.0.2:\(allowedPort)/good.tar.gz")
                #expect(direct.succeeded, "\(direct.output)")

                let redirected = try await farm.kiln("builds", "create", "--app", "redirected", "--source-url", "http://127.0.0.2:\(allowedPort)/redirect")
                #expect(!redirected.succeeded)
                #expect(redirected.output.contains("the address guard refused 127.0.0.1 (a loopback address)"), "\(redirected.output)")

                let refused = try await farm.kiln("builds", "create", "--app", "redirected", "--source-url", "http://127.0.0.1:\(refusedPort)/good.tar.gz")
                #expect(!refused.succeeded && refused.output.contains("--allow-fetch-from 127.0.0.1/32"), "\(refused.output)")
            }
        }
    }

    @Test func aFileBuildpackIsReadOnlyWhenItsRealPathIsInsideAListedDirectory() async throws {
        let allowed = try TestEnvironment.temporaryDirectory("buildpacks")
        let outside = try await makeGitRepository([
            "bin/detect*": "#!/bin/sh\necho Outside\n",
            "bin/compile*": "#!/bin/sh\necho \"-----> compiled by the outside buildpack\"\n",
        ])
        let inside = allowed.appendingPathComponent("inside")
        try await sh("git", ["clone", "-q", outside.path, inside.path])
        // Its own submodule, from the listed directory too: fetched, checked like the buildpack.
        let library = allowed.appendingPathComponent("library")
        try await sh("git", ["clone", "-q", outside.path, library.path])
        try writeFiles(["lib.txt": "from the listed library\n"], in: library)
        try await sh("git", ["add", "lib.txt"], in: library)
        try await sh("git", ["commit", "-qm", "library"], in: library)
        try await sh("git", ["-c", "protocol.file.allow=always", "submodule", "add", "-q", "file://\(library.path)", "vendor/lib"], in: inside)
        try writeFiles(["bin/compile*": "#!/bin/sh\necho \"-----> compiled by the listed buildpack with $(cat \"$(dirname \"$0\")/../vendor/lib/lib.txt\")\"\n"], in: inside)
        try await sh("git", ["add", "-A"], in: inside)
        try await sh("git", ["commit", "-qm", "listed"], in: inside)
        // A listed buildpack whose submodule lies outside.
        let leaky = allowed.appendingPathComponent("leaky")
        try await sh("git", ["clone", "-q", outside.path, leaky.path])
        try await sh("git", ["-c", "protocol.file.allow=always", "submodule", "add", "-q", "file://\(outside.path)", "vendor/outside"], in: leaky)
        try await sh("git", ["commit", "-qm", "leaky"], in: leaky)
        // A link inside the listed directory that leads out of it.
        let escape = allowed.appendingPathComponent("escape")
        try FileManager.default.createSymbolicLink(atPath: escape.path, withDestinationPath: outside.path)

        try await KilnFarm.with(workers: 1, options: ["--buildpack-dir", allowed.path], strictFetching: true) { farm in
            let key = try await farm.createApp("listed")
            let remote = farm.remote("listed", key: key)
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(inside.path)\n"])
            let listed = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(listed.succeeded, "\(listed.output)")
            #expect(listed.output.contains("compiled by the listed buildpack with from the listed library"), "\(listed.output)")

            try writeFiles([".buildpacks": "file://\(leaky.path)\n"], in: repo)
            try await sh("git", ["commit", "-qam", "a buildpack with a submodule outside"], in: repo)
            let leaked = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!leaked.succeeded)
            #expect(leaked.output.contains("(.buildpacks line 1) was refused: submodule vendor/outside: file://\(outside.path) is refused"), "\(leaked.output)")

            try writeFiles([".buildpacks": "file://\(escape.path)\n"], in: repo)
            try await sh("git", ["commit", "-qam", "through a link"], in: repo)
            let linked = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!linked.succeeded)
            #expect(linked.output.contains("the buildpack file://\(escape.path) (.buildpacks line 1) was refused"), "\(linked.output)")
            #expect(linked.output.contains("resolves to"), "\(linked.output)")
            #expect(!linked.output.contains("compiled by the outside buildpack"), "\(linked.output)")

            try writeFiles([".buildpacks": "file://\(outside.path)\n"], in: repo)
            try await sh("git", ["commit", "-qam", "outside"], in: repo)
            let direct = try await sh("git", ["push", remote, "main"], in: repo)
            #expect(!direct.succeeded)
            #expect(direct.output.contains("(.buildpacks line 1) was refused") && direct.output.contains(allowed.path), "\(direct.output)")
        }
    }
}
