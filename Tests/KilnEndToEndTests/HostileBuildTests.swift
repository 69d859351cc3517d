import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// Attacks on the root worker through the paths a stranger controls: a
/// `git push`, a buildpack, a source archive URL, the app's own build
/// scripts under the built-in builders. Each aims at files only root may
/// touch (a ``Canary`` outside the farm, the farm's key, another app's
/// repository and a running build's config), and each must leave them
/// exactly as they were (contents, owner, mode, link count), never show
/// their bytes, and be refused with a message that says why.
/// docs/security.md lists every case.
@Suite(.serialized) struct HostileBuildTests {
    /// One attack: what it pushes or runs, and the words its refusal must hold.
    struct Outcome {
        let output: String
        let succeeded: Bool
    }

    /// Pushes `files` and `links` as a new app `name`; returns the push's output.
    static func push(_ farm: KilnFarm, _ name: String, files: [String: String] = [:], links: [String: String] = [:]) async throws -> Outcome {
        let key = try await farm.createApp(name)
        let repo = try await makeGitRepository(files, links: links)
        let pushed = try await sh("git", ["push", farm.remote(name, key: key), "main"], in: repo)
        return Outcome(output: pushed.output, succeeded: pushed.succeeded)
    }

    /// A buildpack (a local git repository) whose `bin/compile` runs `compile`, as the build user, in the sandbox.
    static func buildpack(compile: String, release: String? = nil) async throws -> URL {
        var files = [
            "bin/detect*": "#!/bin/sh\necho Hostile\n",
            "bin/compile*": "#!/bin/bash\nset -e\nBUILD_DIR=$1 CACHE_DIR=$2\ncd \"$BUILD_DIR\"\n\(compile)\n",
        ]
        if let release { files["bin/release*"] = "#!/bin/sh\n\(release)\n" }
        return try await makeGitRepository(files)
    }

    /// Checks what every attack must leave: the canary and the farm's own files untouched, nothing leaked.
    static func expectUntouched(_ canary: Canary, _ guarded: [GuardedFile], _ outcome: Outcome, case name: String,
                                refusal: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let changes = try canary.changes()
        #expect(changes.isEmpty, "\(name): the canary changed: \(changes)", sourceLocation: sourceLocation)
        for file in guarded {
            #expect(try file.unchanged(), "\(name): \(file.path) changed", sourceLocation: sourceLocation)
            #expect(!file.leaked(into: outcome.output), "\(name): \(file.path) leaked", sourceLocation: sourceLocation)
        }
        #expect(!canary.leaked(into: outcome.output), "\(name): the canary's contents reached the output:\n\(outcome.output)", sourceLocation: sourceLocation)
        #expect(refusal.contains { outcome.output.contains($0) }, "\(name): expected one of \(refusal) in:\n\(outcome.output)", sourceLocation: sourceLocation)
    }

    @Test func pushesOfNothingButLinksAreRefusedAtUnpackingAndReadNothing() async throws {
        let canary = try Canary()
        try await KilnFarm.with { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            let secret = canary.secret.path
            let climb = String(repeating: "../", count: 24) + secret.dropFirst()
            let cases: [(String, [String: String], [String: String], [String])] = [
                ("procfile-absolute", [:], ["Procfile": secret], ["symbolic link to the absolute path"]),
                ("procfile-climbing", [:], ["Procfile": climb], ["outside the app directory"]),
                ("link-chain", [:], ["a/b": "..", "x": "a/b/a/b/../../../..", "Procfile": "x" + secret],
                 ["outside the app directory", "links outside the app: refused"]),
                ("deep-chain", [:], ["d/1/2/3/4/5/6/7/8/up": "../../../../../../../../..", "Procfile": "d/1/2/3/4/5/6/7/8/up/" + String(repeating: "../", count: 8) + secret.dropFirst()],
                 ["outside the app directory", "links outside the app: refused"]),
                ("directory-link", [:], ["conf": canary.root.path, "Procfile": "conf/secret"], ["symbolic link to the absolute path"]),
                ("buildpacks-list", ["Procfile": "web: ./run\n"], [".buildpacks": secret], ["symbolic link to the absolute path"]),
                ("node-lockfile", ["package.json": "{\"name\":\"x\",\"version\":\"1.0.0\"}\n"], ["package-lock.json": secret], ["symbolic link to the absolute path"]),
                ("python-requirements", ["app.py": "print(1)\n"], ["requirements.txt": climb], ["outside the app directory"]),
                ("elixir-lockfile", ["mix.exs": "defmodule X.MixProject do\n  use Mix.Project\n  def project, do: [app: :x, version: \"0.1.0\"]\nend\n"],
                 ["mix.lock": secret], ["symbolic link to the absolute path"]),
                ("proc-environ", [:], ["Procfile": "/proc/self/environ"], ["symbolic link to the absolute path"]),
                ("proc-root", [:], ["Procfile": "/proc/1/root" + secret], ["symbolic link to the absolute path"]),
                ("dev-zero", [:], ["Procfile": "/dev/zero"], ["symbolic link to the absolute path"]),
                ("farm-key", [:], ["Procfile": farm.home.appendingPathComponent("keys/farm-ed25519.pem").path], ["symbolic link to the absolute path"]),
                ("other-app-repository", [:], ["Procfile": farm.home.appendingPathComponent("repos/victim.git/config").path], ["symbolic link to the absolute path"]),
            ]
            _ = try await farm.createApp("victim")
            for (name, files, links, refusal) in cases {
                let outcome = try await Self.push(farm, name, files: files, links: links)
                #expect(!outcome.succeeded, "\(name) was built:\n\(outcome.output)")
                try Self.expectUntouched(canary, guarded, outcome, case: name, refusal: refusal)
            }
        }
    }

    @Test func whatABuildpackLeavesAfterCompileIsReadBeneathTheAppOrRefused() async throws {
        let canary = try Canary()
        try await KilnFarm.with { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            let secret = canary.secret.path
            let cases: [(String, String, [String])] = [
                ("procfile-link-after-compile", "rm -f Procfile; ln -s \(secret) Procfile", ["Procfile links outside the app: refused"]),
                ("procfile-climbing-after-compile", "rm -f Procfile; ln -s ../../../../../../../..\(secret) Procfile", ["Procfile links outside the app: refused"]),
                ("procfile-fifo", "rm -f Procfile; mkfifo Procfile", ["Procfile in the app is a fifo, not a regular file: refused"]),
                ("procfile-dev-zero", "rm -f Procfile; ln -s /dev/zero Procfile", ["Procfile links outside the app: refused"]),
                ("procfile-huge", "head -c 1048576 /dev/zero | tr '\\0' 'a' > Procfile", ["Procfile in the app is larger than 65536 bytes: refused"]),
                ("release-out-link", "rm -rf $CACHE_DIR/out; ln -s \(canary.tree.path) $CACHE_DIR/out",
                 ["CACHE_DIR/out is a symbolic link, not a directory"]),
                ("release-tarball-link", "mkdir -p $CACHE_DIR/out; ln -s \(secret) $CACHE_DIR/out/app-1.0.0.tar.gz",
                 ["CACHE_DIR/out/app-1.0.0.tar.gz is a symbolic link, not a regular file"]),
                ("release-tarball-escaping-link", """
                    mkdir -p $CACHE_DIR/out /tmp/rel; ln -s \(secret) /tmp/rel/leak
                    tar -C /tmp/rel -czf $CACHE_DIR/out/app-1.0.0.tar.gz leak
                    """, ["cannot be unpacked", "symbolic link to the absolute path"]),
                ("release-tarball-write-through-link", """
                    mkdir -p $CACHE_DIR/out /tmp/rel/into; ln -s \(canary.tree.path) /tmp/rel/into/dir; echo overwritten > /tmp/secret
                    tar -C /tmp/rel -cf /tmp/a.tar into/dir; mkdir -p /tmp/rel2/into/dir; cp /tmp/secret /tmp/rel2/into/dir/secret
                    tar -C /tmp/rel2 -rf /tmp/a.tar into/dir/secret; gzip -c /tmp/a.tar > $CACHE_DIR/out/app-1.0.0.tar.gz
                    """, ["cannot be unpacked"]),
            ]
            for (name, compile, refusal) in cases {
                let buildpack = try await Self.buildpack(compile: compile)
                let outcome = try await Self.push(farm, name, files: ["Procfile": "web: ./run\n", ".buildpacks": "file://\(buildpack.path)\n"])
                #expect(!outcome.succeeded, "\(name) was built:\n\(outcome.output)")
                try Self.expectUntouched(canary, guarded, outcome, case: name, refusal: refusal)
            }
        }
    }

    @Test func anotherAppsRunningBuildIsOutOfReachOfALinkToItsConfig() async throws {
        let canary = try Canary()
        try await KilnFarm.with { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            // The victim's build waits (bounded) until the test has made its attack, then is cancelled.
            let slow = try await Self.buildpack(compile: "for i in $(seq 600); do sleep 0.1; done")
            let victimKey = try await farm.createApp("victim")
            #expect(try await farm.kiln("config", "set", "--app", "victim", "DATABASE_PASSWORD=\(canary.marker)").succeeded)
            let victimRepo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(slow.path)\n"])
            let remote = farm.remote("victim", key: victimKey)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await sh("git", ["push", remote, "main"], in: victimRepo) }
                defer { group.cancelAll() }
                // Its compile has started (the log says so) and its ENV_DIR is written and handed over.
                var env: String?
                for _ in 0..<600 where env == nil {
                    let log = try await farm.kiln("logs", "b-1")
                    let found = try await sh("sh", ["-c", "ls -d \(farm.home.path)/work/*/env 2>/dev/null | head -n 1"])
                    let path = found.output.trimmingCharacters(in: .whitespacesAndNewlines)
                    if log.output.contains("app detected by"), FileManager.default.fileExists(atPath: path + "/DATABASE_PASSWORD") {
                        env = path
                    } else {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                let victimEnv = try #require(env, "the victim's build never started")
                let secretFile = try GuardedFile(victimEnv + "/DATABASE_PASSWORD")
                for (name, compile) in [
                    ("procfile-to-running-env", "rm -f Procfile; ln -s \(victimEnv)/DATABASE_PASSWORD Procfile"),
                    ("release-out-to-running-env", "ln -s \(victimEnv) $CACHE_DIR/out"),
                ] {
                    let buildpack = try await Self.buildpack(compile: compile)
                    let outcome = try await Self.push(farm, name, files: ["Procfile": "web: ./run\n", ".buildpacks": "file://\(buildpack.path)\n"])
                    #expect(!outcome.succeeded)
                    try Self.expectUntouched(canary, guarded + [secretFile], outcome, case: name,
                                             refusal: ["Procfile links outside the app: refused", "CACHE_DIR/out is a symbolic link, not a directory"])
                }
                let builds = try await farm.kiln("builds", "list", "--app", "victim", "--json")
                if let id = builds.output.firstMatch(of: /"id" : "(b-\d+)"/)?.1 { try await farm.kiln("builds", "cancel", String(id)) }
            }
        }
    }

    @Test func linksABuildLeavesInTheAppAreKeptAsLinksNeverAsWhatTheyPointAt() async throws {
        let canary = try Canary()
        try await KilnFarm.with { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            let buildpack = try await Self.buildpack(compile: "ln -s \(canary.secret.path) leak; ln -s \(canary.tree.path) tree")
            let outcome = try await Self.push(farm, "links-in-slug", files: ["Procfile": "web: ./run\n", ".buildpacks": "file://\(buildpack.path)\n"])
            #expect(outcome.succeeded, "\(outcome.output)")
            try Self.expectUntouched(canary, guarded, outcome, case: "links-in-slug", refusal: ["Slug packed"])
            let slug = try await farm.newestSlug(app: "links-in-slug")
            let listing = try await sh("sh", ["-c", "zstd -dc '\(slug.path)/slug.tar.zst' | tar tvf -"])
            #expect(listing.output.contains("app/leak -> \(canary.secret.path)"), "\(listing.output)")
            let contents = try await sh("sh", ["-c", "zstd -dc '\(slug.path)/slug.tar.zst' | strings"])
            #expect(!canary.leaked(into: contents.output))
        }
    }

    @Test func theDependencyCacheNeverWalksRelinksOrDeletesThroughALinkABuildMade() async throws {
        let canary = try Canary()
        try await KilnFarm.with { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            // The app's own build script, run by the built-in node builder: node_modules becomes a link to a host directory.
            let node = [
                "package.json": "{\"name\":\"x\",\"version\":\"1.0.0\",\"scripts\":{\"build\":\"sh build.sh\"}}\n",
                "package-lock.json": "{\"name\":\"x\",\"version\":\"1.0.0\",\"lockfileVersion\":3,\"requires\":true,\"packages\":{\"\":{\"name\":\"x\",\"version\":\"1.0.0\"}}}\n",
                "Procfile": "web: node server.js\n",
                "build.sh": "rm -rf node_modules; ln -s \(canary.tree.path) node_modules\n",
            ]
            let linked = try await Self.push(farm, "cache-node-link", files: node)
            try Self.expectUntouched(canary, guarded, linked, case: "cache-node-link", refusal: ["node_modules goes through a symbolic link in the app: refused"])

            // Links inside a cached tree are stored as links: the host file is neither read nor re-owned.
            var inner = node
            inner["build.sh"] = "mkdir -p node_modules/x; ln -s \(canary.secret.path) node_modules/x/leak; echo ok > node_modules/x/index.js\n"
            let saved = try await Self.push(farm, "cache-node-inner-link", files: inner)
            try Self.expectUntouched(canary, guarded, saved, case: "cache-node-inner-link", refusal: ["cache: saved 1 files"])
            let store = try await sh("grep", ["-rl", canary.marker, farm.home.appendingPathComponent("cache").path])
            #expect(store.output.isEmpty, "the canary's contents are in the cache: \(store.output)")

            // The same two attacks under the elixir rule (deps, _build/prod/lib), by the app's mix alias after compile:
            // a parent of a cached directory made a link, and a link left in CACHE_DIR where the next restore and clear go.
            let mix = """
                defmodule Hostile.MixProject do
                  use Mix.Project
                  def project, do: [app: :hostile, version: "0.1.0", deps: [], aliases: [compile: ["compile", &relink/1]]]
                  defp relink(_) do
                    File.rm_rf!("_build/prod")
                    File.ln_s!("\(canary.tree.path)", "_build/prod")
                    File.rm_rf!("/cache/_build")
                    File.ln_s!("\(canary.tree.path)", "/cache/_build")
                  end
                end
                """
            let elixir = try await Self.push(farm, "cache-elixir-parent-link", files: [
                "mix.exs": mix, "mix.lock": "%{}\n", "lib/hostile.ex": "defmodule Hostile do\nend\n", "Procfile": "web: mix run --no-halt\n",
            ])
            try Self.expectUntouched(canary, guarded, elixir, case: "cache-elixir-parent-link",
                                     refusal: ["_build/prod/lib goes through a symbolic link in the app: refused"])
        }
    }

    @Test func archivesFromASourceURLCannotWriteOrLinkOutsideTheApp() async throws {
        let canary = try Canary()
        let served = try TestEnvironment.temporaryDirectory("served")
        // Archives made by Python's tarfile, which writes what it is told: absolute and climbing names, devices, links.
        let script = """
            import io, sys, tarfile
            secret, tree, out = sys.argv[1], sys.argv[2], sys.argv[3]
            def archive(name, members):
                with tarfile.open(f"{out}/{name}.tar.gz", "w:gz") as tar:
                    for info, data in members:
                        tar.addfile(info, io.BytesIO(data) if data is not None else None)
            def entry(name, kind=tarfile.REGTYPE, link="", data=b"overwritten\\n"):
                info = tarfile.TarInfo(name); info.type = kind; info.linkname = link; info.mode = 0o644
                if kind == tarfile.REGTYPE: info.size = len(data); return info, data
                return info, None
            archive("hardlink-absolute", [entry("Procfile", tarfile.LNKTYPE, secret)])
            archive("hardlink-climbing", [entry("Procfile", tarfile.LNKTYPE, "../../../../../../.." + secret)])
            archive("write-through-link", [entry("dir", tarfile.SYMTYPE, tree), entry("dir/secret")])
            archive("write-through-chain", [entry("a/b", tarfile.SYMTYPE, ".."), entry("x", tarfile.SYMTYPE, "a/b/a/b/../../../.."), entry("x" + secret)])
            archive("climbing-path", [entry("../../../../../../.." + secret)])
            archive("absolute-path", [entry(secret)])
            archive("device", [entry("null", tarfile.CHRTYPE)])
            archive("fifo", [entry("pipe", tarfile.FIFOTYPE)])
            """
        try await sh("python3", ["-c", script, canary.secret.path, canary.tree.path, served.path])
        let port = try KilnFarm.freePort()
        let server = Command("python3", ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", served.path])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await server.run(limit: 1 << 20) }
            defer { group.cancelAll() }
            try await KilnFarm.waitForListener("http://127.0.0.1:\(port)/")
            try await KilnFarm.with { farm in
                let guarded = try GuardedFile.farmFiles(farm)
                let cases: [(String, [String])] = [
                    ("hardlink-absolute", ["hard link to"]), ("hardlink-climbing", ["hard link to"]),
                    ("write-through-link", ["cannot be written", "symbolic link to the absolute path"]),
                    ("write-through-chain", ["outside the app directory", "cannot be written"]),
                    ("climbing-path", ["contains '..'"]), ("absolute-path", ["absolute path"]),
                    ("device", ["device, fifo or socket"]), ("fifo", ["device, fifo or socket"]),
                ]
                _ = try await farm.createApp("archives")
                for (name, refusal) in cases {
                    let created = try await farm.kiln("builds", "create", "--app", "archives", "--source-url", "http://127.0.0.1:\(port)/\(name).tar.gz")
                    let outcome = Outcome(output: created.output, succeeded: created.succeeded)
                    #expect(!outcome.succeeded, "\(name) was accepted:\n\(outcome.output)")
                    try Self.expectUntouched(canary, guarded, outcome, case: "source-url-\(name)", refusal: refusal)
                }
            }
        }
    }
}

extension HostileBuildTests {
    @Test func pushesAreHeldToTheirLimitsAndLargeFilesStreamWhole() async throws {
        let canary = try Canary()
        try await KilnFarm.with(options: ["--max-push-file-size", "12MiB"]) { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            // Past libgit2's in-memory threshold (8 MiB): streamed through git cat-file, byte for byte.
            let key = try await farm.createApp("large-file")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n"])
            try await sh("sh", ["-c", "head -c 10485760 /dev/urandom > blob.bin && git add blob.bin && git commit -qm big"], in: repo)
            let pushed = try await sh("git", ["push", farm.remote("large-file", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            let slug = try await farm.newestSlug(app: "large-file")
            let sums = try await sh("sh", ["-c", "sha256sum < blob.bin; zstd -dc '\(slug.path)/slug.tar.zst' | tar -xOf - app/blob.bin | sha256sum"], in: repo)
            let lines = sums.output.split(separator: "\n")
            #expect(lines.count == 2 && lines[0] == lines[1], "\(sums.output)")

            // One file over the farm's cap rejects the push and names it.
            try await sh("sh", ["-c", "head -c 13631488 /dev/zero > huge.bin && git add huge.bin && git commit -qm huge"], in: repo)
            let huge = try await sh("git", ["push", farm.remote("large-file", key: key), "main"], in: repo)
            #expect(!huge.succeeded)
            try Self.expectUntouched(canary, guarded, Outcome(output: huge.output, succeeded: huge.succeeded), case: "push-file-over-cap",
                                     refusal: ["the pushed file huge.bin is 13631488 bytes, over this farm's limit of 12582912 bytes"])

            // A tree git's own fsck refuses (an entry named ..) never reaches the hook.
            let bad = try await makeGitRepository(["Procfile": "web: ./run\n"])
            let script = """
                import binascii, subprocess
                blob = subprocess.run(["git", "hash-object", "-w", "Procfile"], capture_output=True, text=True, check=True).stdout.strip()
                tree = b"100644 ..\\0" + binascii.unhexlify(blob)
                sha = subprocess.run(["git", "hash-object", "-w", "-t", "tree", "--literally", "--stdin"], input=tree, capture_output=True, check=True).stdout.decode().strip()
                commit = subprocess.run(["git", "commit-tree", sha, "-m", "dotdot"], capture_output=True, text=True, check=True).stdout.strip()
                subprocess.run(["git", "update-ref", "refs/heads/main", commit], check=True)
                """
            try await sh("python3", ["-c", script], in: bad)
            let badKey = try await farm.createApp("fsck")
            let refused = try await sh("git", ["push", farm.remote("fsck", key: badKey), "main"], in: bad)
            #expect(!refused.succeeded)
            try Self.expectUntouched(canary, guarded, Outcome(output: refused.output, succeeded: refused.succeeded), case: "push-bad-tree",
                                     refusal: ["hasDotdot", "contains '..'"])
        }
    }

    /// PostgreSQL's text refuses NUL: a failure whose last lines carry one
    /// (a buildpack's, or a git server's message) once could not be
    /// recorded, and the worker retried forever. It is recorded, and the push rejected.
    @Test func aFailureWhoseLastLinesHoldANulByteIsRecordedAndThePushRejected() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let nul = try await Self.buildpack(compile: "printf 'fatal: remote said \\000 goodbye\\n'\nexit 7")
            let outcome = try await Self.push(farm, "nul-failure", files: ["Procfile": "web: ./run\n", ".buildpacks": "file://\(nul.path)\n"])
            #expect(!outcome.succeeded)
            #expect(outcome.output.contains("bin/compile exited 7; its last lines:"), "\(outcome.output)")
            let shown = try await farm.kiln("builds", "show", "b-1", "--json")
            #expect(shown.output.contains(#""state" : "failed""#) && shown.output.contains("remote said \u{FFFD} goodbye"), "\(shown.output)")
        }
    }

    @Test func aBuildsLogHasOneBudgetAcrossItsBuildpacksAndADockerfileCannotFetchWithTheNetworkOff() async throws {
        let canary = try Canary()
        try await KilnFarm.with(options: ["--build-log-limit", "2"]) { farm in
            let guarded = try GuardedFile.farmFiles(farm)
            // Each buildpack prints 1.2 MiB, under the 2 MiB a script may print; together they pass the build's 2 MiB.
            let loud = "head -c 1258291 /dev/zero | tr '\\0' 'x' | fold -w 1023"
            let first = try await Self.buildpack(compile: loud), second = try await Self.buildpack(compile: loud)
            let logged = try await Self.push(farm, "log-budget", files: ["Procfile": "web: ./run\n", ".buildpacks": "file://\(first.path)\nfile://\(second.path)\n"])
            #expect(!logged.succeeded)
            try Self.expectUntouched(canary, guarded, logged, case: "log-budget", refusal: ["the build's log passed its limit of 2 MiB across its buildpacks"])

            for (name, dockerfile) in [
                ("dockerfile-add-metadata", "FROM scratch\nADD http://169.254.169.254/latest/meta-data/ /meta\n"),
                ("dockerfile-add-git", "FROM scratch\nADD --keep-git-dir=true \\\n  git@github.com:moby/buildkit.git /src\n"),
                ("dockerfile-add-json", "FROM scratch\nADD [\"https://example.com/x.tar.gz\", \"/x\"]\n"),
            ] {
                let outcome = try await Self.push(farm, name, files: ["Dockerfile": dockerfile])
                #expect(!outcome.succeeded)
                try Self.expectUntouched(canary, guarded, outcome, case: name, refusal: ["fetches from the network, and this app's build network is off"])
            }
        }
    }
}

/// A file of the farm's own that a build must never read or change: its
/// signing key, another app's repository config.
struct GuardedFile {
    let path: String
    let state: String
    let contents: String

    init(_ path: String) throws {
        self.path = path
        self.state = try Self.state(path)
        self.contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    static func farmFiles(_ farm: KilnFarm) throws -> [GuardedFile] {
        try [GuardedFile(farm.home.appendingPathComponent("keys/farm-ed25519.pem").path)]
    }

    static func state(_ path: String) throws -> String {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "absent" }
        return "uid \(info.st_uid) mode \(String(info.st_mode, radix: 8)) links \(info.st_nlink) size \(info.st_size)"
    }

    func unchanged() throws -> Bool {
        try Self.state(path) == state && ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "") == contents
    }

    /// Whether `text` holds a line of the file's secret body (not its PEM armour).
    func leaked(into text: String) -> Bool {
        contents.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count > 16 }.contains { text.contains($0) }
    }
}
