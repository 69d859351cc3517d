import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnQueue
import KilnTestSupport
import Testing

/// The whole life of apps and keys, through the `kiln` command against a real
/// farm: SSH keys added, listed and revoked; API keys revoked and refused at
/// once; an app deleted (repository, keys and builds gone, releases kept,
/// then purged); the administrator token rotated, across restarts of `kiln up`.
@Suite struct AppLifecycleTests {
    @Test func sshKeysAreAddedWithSshKeygensFingerprintListedAndRevoked() async throws {
        try await KilnFarm.with(workers: 0) { farm in
            let apiKey = try await farm.createApp("keyed")
            let keys = try TestEnvironment.temporaryDirectory("ssh")
            let ed25519 = try await Self.keygen("ed25519", in: keys, comment: "dev@laptop")
            let rsa = try await Self.keygen("rsa", in: keys, comment: "old@box")

            let added = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh-file", ed25519.public.path)
            #expect(added.succeeded, "\(added.output)")
            #expect(added.output.contains("Added SSH key ssh-1 to keyed: \(ed25519.fingerprint) (ssh-ed25519, dev@laptop)"), "\(added.output)")
            #expect(!added.output.contains("OpenSSH"), "an Ed25519 key needs no note: \(added.output)")

            let line = try String(contentsOf: rsa.public, encoding: .utf8)
            let addedRSA = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh", line)
            #expect(addedRSA.succeeded, "\(addedRSA.output)")
            #expect(addedRSA.output.contains(rsa.fingerprint), "\(addedRSA.output)")
            #expect(addedRSA.output.contains("swift-nio-ssh") && addedRSA.output.contains("kiln ssh authorized-keys"), "\(addedRSA.output)")

            // Bad input is refused by name, and adds nothing.
            let garbage = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh", "hello-key AAAA me")
            #expect(!garbage.succeeded && garbage.output.contains("'hello-key' is not an SSH key type"), "\(garbage.output)")
            let broken = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh", "ssh-ed25519 not-base64!")
            #expect(!broken.succeeded && broken.output.contains("base64"), "\(broken.output)")
            let secret = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh-file", ed25519.private.path)
            #expect(!secret.succeeded && secret.output.contains("this is a private SSH key") && secret.output.contains("nothing was sent"), "\(secret.output)")
            let both = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh", line, "--ssh-file", ed25519.public.path)
            #expect(!both.succeeded && both.output.contains("exactly one of --ssh"), "\(both.output)")
            let twice = try await farm.kiln("keys", "add", "--app", "keyed", "--ssh-file", ed25519.public.path)
            #expect(!twice.succeeded && twice.output.contains("already keyed's"), "\(twice.output)")
            let noApp = try await farm.kiln("keys", "add", "--app", "nowhere", "--ssh-file", ed25519.public.path)
            #expect(!noApp.succeeded && noApp.output.contains("there is no app nowhere"), "\(noApp.output)")

            // One line a key, both kinds; never the API key's secret.
            let listed = try await farm.kiln("keys", "list", "--app", "keyed")
            #expect(listed.succeeded, "\(listed.output)")
            let rows = listed.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(rows.count == 4, "a header, one API key, two SSH keys: \(listed.output)")
            #expect(rows.contains { $0.first == "key-2" && $0.dropFirst().first == "api" }, "\(listed.output)")
            #expect(rows.contains { $0.first == "ssh-1" && $0.contains(ed25519.fingerprint) && $0.contains("ssh-ed25519") && $0.contains("dev@laptop") }, "\(listed.output)")
            #expect(rows.contains { $0.first == "ssh-2" && $0.contains(rsa.fingerprint) && $0.contains("ssh-rsa") && $0.contains("old@box") }, "\(listed.output)")
            #expect(!listed.output.contains(apiKey) && !listed.output.contains(String(apiKey.suffix(16))), "\(listed.output)")
            #expect(!(try await farm.kiln("keys", "list")).succeeded, "neither --app nor --admin")

            // The app's own key lists and revokes its SSH keys; a fingerprint needs the app it is removed from.
            let byApp = try await Self.kiln(farm, token: apiKey, "keys", "revoke", ed25519.fingerprint, "--app", "keyed")
            #expect(byApp.succeeded && byApp.output.contains("Removed SSH key ssh-1 (\(ed25519.fingerprint)) from keyed"), "\(byApp.output)")
            let unnamed = try await farm.kiln("keys", "revoke", rsa.fingerprint)
            #expect(!unnamed.succeeded && unnamed.output.contains("give --app APP"), "\(unnamed.output)")
            let wrongApp = try await farm.kiln("apps", "create", "other")
            #expect(wrongApp.succeeded)
            let mismatch = try await farm.kiln("keys", "revoke", "ssh-2", "--app", "other")
            #expect(!mismatch.succeeded && mismatch.output.contains("ssh-2 is not one of other's keys") && mismatch.output.contains("nothing was revoked"), "\(mismatch.output)")
            let removed = try await farm.kiln("keys", "revoke", "ssh-2")
            #expect(removed.succeeded && removed.output.contains("Removed SSH key ssh-2"), "\(removed.output)")
            let again = try await farm.kiln("keys", "revoke", "ssh-2")
            #expect(!again.succeeded && again.output.contains("there is no SSH key ssh-2"), "\(again.output)")
            let after = try await farm.kiln("keys", "list", "--app", "keyed")
            #expect(!after.output.contains("ssh-1") && !after.output.contains("ssh-2") && after.output.contains("key-2"), "\(after.output)")
        }
    }

    @Test func aRevokedAPIKeyIsRefusedFromItsNextRequestAndPush() async throws {
        try await KilnFarm.with(workers: 0) { farm in
            let first = try await farm.createApp("guarded")
            let second = try await Self.lastLine(farm.kiln("keys", "create", "--app", "guarded"))
            let stranger = try await farm.createApp("stranger")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n"])
            #expect(try await sh("git", ["ls-remote", farm.remote("guarded", key: first)], in: repo).succeeded)
            #expect(try await Self.status(farm, "/api/apps/guarded", token: first) == 200)

            // key-1 is the administrator's; guarded's keys are key-2 and key-3, stranger's key-4.
            let foreign = try await Self.kiln(farm, token: stranger, "keys", "revoke", "key-2")
            #expect(!foreign.succeeded && foreign.output.contains("not a key of this API key's app"), "\(foreign.output)")
            let upward = try await Self.kiln(farm, token: second, "keys", "revoke", "key-1")
            #expect(!upward.succeeded && upward.output.contains("key-1 is an administrator key"), "\(upward.output)")
            let revoked = try await Self.kiln(farm, token: second, "keys", "revoke", "key-2")
            #expect(revoked.succeeded && revoked.output.contains("Revoked API key key-2 of guarded"), "\(revoked.output)")

            // At once: the very next request and push with it are refused, the other key goes on working.
            #expect(try await Self.status(farm, "/api/apps/guarded", token: first) == 401)
            let refused = try await Self.kiln(farm, token: first, "builds", "list", "--app", "guarded")
            #expect(!refused.succeeded && refused.output.contains("not valid (unknown, revoked"), "\(refused.output)")
            let push = try await sh("git", ["push", farm.remote("guarded", key: first), "main"], in: repo)
            #expect(!push.succeeded, "\(push.output)")
            #expect(push.output.contains("remote: the API key is not valid (unknown, revoked"), "git shows the refusal's reason: \(push.output)")
            #expect(try await Self.status(farm, "/api/apps/guarded", token: second) == 200)

            let twice = try await farm.kiln("keys", "revoke", "key-2")
            #expect(!twice.succeeded && twice.output.contains("key-2 was already revoked"), "\(twice.output)")
            let missing = try await farm.kiln("keys", "revoke", "key-999")
            #expect(!missing.succeeded && missing.output.contains("there is no API key key-999"), "\(missing.output)")
            let nonsense = try await farm.kiln("keys", "revoke", "b-1")
            #expect(!nonsense.succeeded && nonsense.output.contains("'b-1' is not a key id"), "\(nonsense.output)")
            let last = try await farm.kiln("keys", "revoke", "key-1")
            #expect(!last.succeeded && last.output.contains("key-1 is the last administrator key") && last.output.contains("kiln admin rotate-token"), "\(last.output)")
            #expect(try await Self.status(farm, "/api/apps", token: farm.token) == 200)
            let listed = try await farm.kiln("keys", "list", "--app", "guarded")
            #expect(listed.output.contains("key-3") && !listed.output.contains("key-2"), "\(listed.output)")
        }
    }

    @Test func deletingAnAppCancelsItsBuildsAndRemovesItsRepositoryAndKeysWhileItsReleasesStay() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let key = try await farm.createApp("doomed")
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
            let released = try await sh("git", ["push", farm.remote("doomed", key: key), "main"], in: repo)
            #expect(released.succeeded, "\(released.output)")
            let keys = try TestEnvironment.temporaryDirectory("ssh")
            let ssh = try await Self.keygen("ed25519", in: keys, comment: "doomed@dev")
            #expect(try await farm.kiln("keys", "add", "--app", "doomed", "--ssh-file", ssh.public.path).succeeded)

            // b-2 runs (a buildpack that takes its time), b-3 waits behind it: one build of an app runs at a time.
            let buildpack = try await makeGitRepository(["bin/detect*": "#!/bin/sh\necho Slow\n", "bin/compile*": "#!/bin/sh\necho started\nsleep 300\n"])
            try writeFiles([".buildpacks": "file://\(buildpack.path)\n"], in: repo)
            try await sh("git", ["add", "-A"], in: repo)
            try await sh("git", ["commit", "-qm", "slow"], in: repo)
            async let slowPush = sh("git", ["push", farm.remote("doomed", key: key), "main"], in: repo)
            #expect(try await Self.waitFor(farm, build: "b-2", state: "running"))
            #expect(try await farm.kiln("builds", "retry", "b-1").output.contains("b-3 queued"))
            #expect(try await Self.state(farm, build: "b-3") == "queued")

            let repository = farm.home.appendingPathComponent("repos/doomed.git")
            #expect(FileManager.default.fileExists(atPath: repository.path))
            let mismatch = try await farm.kiln("apps", "delete", "doomed", "--confirm", "doom")
            #expect(!mismatch.succeeded && mismatch.output.contains("--confirm must repeat the app's name") && mismatch.output.contains("nothing was deleted"), "\(mismatch.output)")
            #expect(try await Self.status(farm, "/api/apps/doomed?confirm=doom", token: farm.token, method: "DELETE") == 400)
            #expect(try await farm.kiln("apps", "show", "doomed").succeeded, "a refused deletion deletes nothing")
            #expect(FileManager.default.fileExists(atPath: repository.path))

            let deleted = try await farm.kiln("apps", "delete", "doomed", "--confirm", "doomed")
            #expect(deleted.succeeded, "\(deleted.output)")
            #expect(deleted.output.contains("cancelled b-2, b-3") && deleted.output.contains("2 key(s) removed") && deleted.output.contains("repository removed"), "\(deleted.output)")
            #expect(deleted.output.contains("Its 1 release(s) are kept"), "\(deleted.output)")
            #expect(!FileManager.default.fileExists(atPath: repository.path), "the repository is gone")
            #expect(try await Self.state(farm, build: "b-3") == "cancelled", "a queued build is cancelled at once")
            let stopped = try await slowPush
            #expect(!stopped.succeeded && stopped.output.contains("push rejected: build b-2 was cancelled"), "\(stopped.output)")
            #expect(try await Self.state(farm, build: "b-2") == "cancelled")

            // Gone from every lookup, its keys with it; a push is refused, saying why.
            #expect(!(try await farm.kiln("apps", "list")).output.contains("doomed"))
            let shown = try await farm.kiln("apps", "show", "doomed")
            #expect(!shown.succeeded && shown.output.contains("the app doomed was deleted"), "\(shown.output)")
            #expect(try await Self.status(farm, "/api/builds?app=doomed", token: key) == 401, "its API keys are gone")
            let keysListed = try await farm.kiln("keys", "list", "--app", "doomed")
            #expect(!keysListed.succeeded && keysListed.output.contains("was deleted"), "\(keysListed.output)")
            try await sh("git", ["commit", "-q", "--allow-empty", "-m", "after"], in: repo)
            let refused = try await sh("git", ["push", farm.remote("doomed", key: farm.token), "main"], in: repo)
            #expect(!refused.succeeded && refused.output.contains("remote: the app doomed was deleted"), "\(refused.output)")
            #expect(!FileManager.default.fileExists(atPath: repository.path), "a refused push makes no repository")
            let rebuilt = try await farm.kiln("builds", "retry", "b-1")
            #expect(!rebuilt.succeeded && rebuilt.output.contains("was deleted"), "\(rebuilt.output)")

            // The releases and the slug stay for the release service.
            let releases = try await farm.kiln("releases", "--app", "doomed", "--json")
            #expect(releases.succeeded && releases.output.contains("\"version\" : 1") && releases.output.contains("\"build\" : \"b-1\""), "\(releases.output)")
            let url = try await farm.kiln("slug", "url", "b-1")
            #expect(url.succeeded, "\(url.output)")
            let fetched = try await sh("curl", ["-sf", "-o", "/dev/null", "-w", "%{http_code}", url.output.trimmingCharacters(in: .whitespacesAndNewlines)])
            #expect(fetched.output == "200", "\(fetched.output)")

            // The name stays taken until the tombstone is purged.
            let recreated = try await farm.kiln("apps", "create", "doomed")
            #expect(!recreated.succeeded && recreated.output.contains("--purge"), "\(recreated.output)")
            let twice = try await farm.kiln("apps", "delete", "doomed", "--confirm", "doomed")
            #expect(!twice.succeeded && twice.output.contains("already deleted") && twice.output.contains("--purge"), "\(twice.output)")
            let purged = try await farm.kiln("apps", "delete", "doomed", "--confirm", "doomed", "--purge")
            #expect(purged.succeeded && purged.output.contains("Purged"), "\(purged.output)")
            let none = try await farm.kiln("releases", "--app", "doomed", "--json")
            #expect(none.succeeded && !none.output.contains("\"version\""), "\(none.output)")
            #expect(!(try await farm.kiln("builds", "show", "b-1")).succeeded, "the purge took its builds")
            let fresh = try await farm.kiln("apps", "create", "doomed")
            #expect(fresh.succeeded, "\(fresh.output)")
            let empty = try await farm.kiln("keys", "list", "--app", "doomed")
            #expect(empty.succeeded && !empty.output.contains("ssh-") && !empty.output.contains("key-"), "a new app has none of the old one's keys: \(empty.output)")
        }
    }

    @Test func rotatingTheAdminTokenRefusesTheOldOneAtOnceAndKilnUpNeverBringsItBack() async throws {
        let home = try TestEnvironment.temporaryDirectory("home")
        let environmentFile = home.appendingPathComponent("kiln.env")
        let (old, new) = try await KilnFarm.with(workers: 0, home: home) { farm in
            let rotated = try await farm.kiln("admin", "rotate-token")
            #expect(rotated.succeeded, "\(rotated.output)")
            #expect(rotated.output.contains("Revoked key-1") && rotated.output.contains("rewrote \(environmentFile.path)"), "\(rotated.output)")
            let new = try Self.lastLine(rotated)
            #expect(new.hasPrefix("kiln_admin_") && new != farm.token)
            let written = try String(contentsOf: environmentFile, encoding: .utf8)
            #expect(written == "export KILN_SERVER=\(farm.server)\nexport KILN_TOKEN=\(new)\n", "\(written)")
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: environmentFile.path)[.posixPermissions] as? Int)
            #expect(mode == 0o600, "kiln.env is \(String(mode, radix: 8))")

            #expect(try await Self.status(farm, "/api/apps", token: farm.token) == 401, "the old token, at once")
            #expect(try await Self.status(farm, "/api/apps", token: new) == 200)
            let admins = try await Self.kiln(farm, token: new, "keys", "list", "--admin")
            #expect(admins.output.contains("key-2") && !admins.output.contains("key-1"), "\(admins.output)")
            let last = try await Self.kiln(farm, token: new, "keys", "revoke", "key-2")
            #expect(!last.succeeded && last.output.contains("last administrator key"), "\(last.output)")
            return (farm.token, new)
        }

        // kiln up starts again with the token kiln.env holds, and the old one stays refused.
        try await KilnFarm.with(workers: 0, home: home) { (farm: KilnFarm) async throws in
            #expect(farm.token == new)
            #expect(try await Self.status(farm, "/api/apps", token: old) == 401)
            #expect(try await Self.status(farm, "/api/apps", token: new) == 200)
        }

        // A kiln.env that holds the revoked token (restored from a backup, say) does not bring it back: kiln up writes a new one.
        try Self.writeStaleEnvironment(holding: old, to: environmentFile)
        try await KilnFarm.with(workers: 0, home: home) { (farm: KilnFarm) async throws in
            #expect(farm.token != old && farm.token != new && farm.token.hasPrefix("kiln_admin_"), "\(farm.token)")
            #expect(try await Self.status(farm, "/api/apps", token: old) == 401)
            #expect(try await Self.status(farm, "/api/apps", token: farm.token) == 200)
            let log = try String(contentsOf: home.appendingPathComponent("up.log"), encoding: .utf8)
            #expect(log.contains("was revoked: kiln up wrote a new one"), "\(log)")
        }
    }

    /// Rewrites a kiln.env to hold `token`, as a stale copy would.
    static func writeStaleEnvironment(holding token: String, to file: URL) throws {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw TestSetupError("no \(file.path)") }
        let stale = text.split(separator: "\n").map { $0.hasPrefix("export KILN_TOKEN=") ? "export KILN_TOKEN=\(token)" : String($0) }.joined(separator: "\n") + "\n"
        try stale.write(to: file, atomically: true, encoding: .utf8)
    }

    // MARK: Helpers

    /// A key pair made by `ssh-keygen`, and the fingerprint `ssh-keygen -l -E sha256` prints for it.
    static func keygen(_ type: String, in directory: URL, comment: String) async throws -> (private: URL, public: URL, fingerprint: String) {
        let path = directory.appendingPathComponent("id_\(type)")
        let made = try await sh("ssh-keygen", ["-q", "-t", type] + (type == "rsa" ? ["-b", "2048"] : []) + ["-N", "", "-C", comment, "-f", path.path])
        guard made.succeeded else { throw TestSetupError("ssh-keygen -t \(type) failed: \(made.output)") }
        let listed = try await sh("ssh-keygen", ["-l", "-E", "sha256", "-f", path.path + ".pub"])
        guard let fingerprint = listed.output.split(separator: " ").dropFirst().first, fingerprint.hasPrefix("SHA256:") else {
            throw TestSetupError("ssh-keygen -l printed \(listed.output)")
        }
        return (path, URL(fileURLWithPath: path.path + ".pub"), String(fingerprint))
    }

    /// A `kiln` client command presenting `token` instead of the administrator's.
    static func kiln(_ farm: KilnFarm, token: String, _ arguments: String...) async throws -> Command.Outcome {
        try await sh(TestEnvironment.binary, arguments, environment: ["KILN_SERVER": farm.server, "KILN_TOKEN": token])
    }

    /// The HTTP status of a request to the farm with `token` as the bearer.
    static func status(_ farm: KilnFarm, _ path: String, token: String, method: String = "GET") async throws -> Int {
        let answer = try await sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, "-H", "Authorization: Bearer \(token)", farm.server + path])
        return Int(answer.output) ?? 0
    }

    static func lastLine(_ outcome: Command.Outcome) throws -> String {
        guard outcome.succeeded, let last = outcome.output.split(separator: "\n").last else { throw TestSetupError("the command failed: \(outcome.output)") }
        return String(last)
    }

    /// A build's state, as `kiln builds show --json` gives it.
    static func state(_ farm: KilnFarm, build: String) async throws -> String? {
        let shown = try await farm.kiln("builds", "show", build, "--json")
        return shown.output.firstMatch(of: /"state" : "([a-z]+)"/).map { String($0.1) }
    }

    /// Waits (bounded: 60 s) until the build is in `state`; whether it got there.
    static func waitFor(_ farm: KilnFarm, build: String, state wanted: String) async throws -> Bool {
        for _ in 0..<600 {
            if try await state(farm, build: build) == wanted { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

/// The catalog's side of the same life, on a database of its own: what the
/// server and `kiln up` rely on, including the races a farm cannot time.
@Suite struct AppLifecycleCatalogTests {
    @Test func aRevokedAdministratorTokenCannotBeRegisteredAgain() async throws {
        try await Database.with(url: try await TestEnvironment.freshDatabase(), logger: TestEnvironment.logger) { database in
            let catalog = Catalog(database: database)
            let token = Catalog.newAdminKey()
            try await catalog.registerAdminKey(token)
            try await catalog.registerAdminKey(token)
            #expect(try await catalog.grant(for: token) == .admin)
            let (new, revoked) = try await catalog.rotateAdminKey(presented: token)
            #expect(revoked.id == "key-1" && revoked.revokedAt != nil)
            #expect(try await catalog.grant(for: token) == .none)
            #expect(try await catalog.grant(for: new) == .admin)
            let refused = await #expect(throws: CatalogError.self) { try await catalog.registerAdminKey(token) }
            #expect(refused?.code == .revoked && refused?.message.contains("the token in kiln.env was revoked") == true, "\(String(describing: refused))")
            #expect(try await catalog.grant(for: token) == .none, "the refused registration changed nothing")
            await #expect(throws: CatalogError.self) { try await catalog.rotateAdminKey(presented: token) }
        }
    }

    @Test func twoRevocationsAtOnceNeverLeaveTheFarmWithoutAnAdministratorKey() async throws {
        try await Database.with(url: try await TestEnvironment.freshDatabase(), logger: TestEnvironment.logger) { database in
            let catalog = Catalog(database: database)
            try await catalog.registerAdminKey(Catalog.newAdminKey())
            _ = try await catalog.createKey(app: nil)
            @Sendable func revoked(_ id: Int64) async -> Bool { (try? await catalog.revokeAPIKey(id: id)) != nil }
            async let first = revoked(1)
            async let second = revoked(2)
            let outcomes = [await first, await second]
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
            #expect(try await catalog.apiKeys(app: nil).count == 1)
        }
    }

    @Test func aBuildQueuedWhileItsAppIsDeletedIsCancelledAndRecordsNoRelease() async throws {
        try await Database.with(url: try await TestEnvironment.freshDatabase(), logger: TestEnvironment.logger) { database in
            let catalog = Catalog(database: database)
            let queue = BuildQueue(database: database)
            _ = try await catalog.createApp(name: "racing")
            let key = try SSHPublicKey(parsing: Self.ed25519Line)
            _ = try await catalog.addSSHKey(app: "racing", key: key)
            let apiKey = try await catalog.createKey(app: "racing")
            #expect(try await catalog.sshKeyApps(fingerprint: key.fingerprint) == ["racing"])

            // The deletion lands between the push hook's first look and its enqueue, as a slow export lets it.
            let request = BuildRequest(app: "racing", commit: nil, branch: "main", sourceDigest: String(repeating: "a", count: 64))
            let refused = await #expect(throws: CatalogError.self) {
                try await catalog.queueBuild(app: "racing") {
                    let deletion = try await catalog.deleteApp("racing")
                    #expect(deletion.cancelledBuilds.isEmpty && deletion.keysRemoved == 2)
                    return try await queue.enqueue(request)
                }
            }
            #expect(refused?.message.contains("the app racing was deleted") == true, "\(String(describing: refused))")
            let builds = try await queue.builds(app: "racing")
            #expect(builds.count == 1 && builds.first?.state == .cancelled, "\(builds)")
            #expect(try await catalog.sshKeyApps(fingerprint: key.fingerprint).isEmpty)
            #expect(try await catalog.grant(for: apiKey) == .none)
            #expect(try await catalog.app(named: "racing") == nil)
            #expect(try await catalog.apps().isEmpty)

            // A worker that finishes a build of the deleted app records no release.
            let build = try #require(builds.first)
            let fenced = await #expect(throws: QueueError.self) {
                try await database.transaction { connection in
                    try await Catalog.recordRelease(app: "racing", buildSeq: build.seq, slugDigest: nil, on: connection, logger: TestEnvironment.logger)
                }
            }
            #expect(fenced?.code == .fenced && fenced?.message.contains("was deleted") == true, "\(String(describing: fenced))")
            #expect(try await catalog.releases(app: "racing").isEmpty)
            await #expect(throws: CatalogError.self) { try await catalog.createApp(name: "racing") }
            let purged = try await catalog.deleteApp("racing", purge: true)
            #expect(purged.purged && purged.cancelledBuilds.isEmpty)
            #expect(try await queue.builds(app: "racing").isEmpty)
            #expect(try await catalog.createApp(name: "racing").name == "racing")
        }
    }

    // An Ed25519 public key, the same every run (made once with ssh-keygen).
    static let ed25519Line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK3zQSU4D8wx5pN+Soizd/MXAmBMID6oRpPqHME388Em test@kiln"
}

/// `SSHPublicKey` and `KeyID`: what `kiln keys add` and `kiln keys revoke` accept.
@Suite struct SSHPublicKeyParsingTests {
    @Test func everyKindOfKeySshKeygenMakesParsesWithItsFingerprint() async throws {
        let directory = try TestEnvironment.temporaryDirectory("ssh")
        for type in ["ed25519", "ecdsa", "rsa"] {
            let key = try await AppLifecycleTests.keygen(type, in: directory, comment: "\(type) user@host")
            let parsed = try SSHPublicKey(parsing: try String(contentsOf: key.public, encoding: .utf8))
            #expect(parsed.fingerprint == key.fingerprint, "\(type)")
            #expect(parsed.comment == "\(type) user@host")
            #expect(parsed.isBuiltInServerType == (type != "rsa"), "\(type)")
        }
    }

    @Test func anythingButOnePublicKeyLineIsRefusedNamingWhatIsWrong() throws {
        let good = AppLifecycleCatalogTests.ed25519Line
        let cases: [(String, String)] = [
            ("", "is not an SSH public key"),
            ("hello", "'hello' is not an SSH public key"),
            ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "'ssh-dss' is not an SSH key type"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "this is a private SSH key"),
            ("command=\"echo\" " + good, "starts with options"),
            ("ssh-ed25519 %%%%", "base64 part is not a public key"),
            ("ssh-rsa " + good.split(separator: " ")[1], "the key inside is ssh-ed25519"),
            (good + "\n" + good, "not several"),
            ("ssh-ed25519 " + good.split(separator: " ")[1] + " evil\u{0}comment", "control character (U+0000)"),
        ]
        for (text, message) in cases {
            let refused = #expect(throws: CatalogError.self, "\(text)") { try SSHPublicKey(parsing: text) }
            #expect(refused?.message.contains(message) == true, "\(text): \(String(describing: refused))")
        }
    }

    @Test func keyIDsAreKeyNOrSshN() throws {
        #expect(try KeyID(parsing: "key-12") == .api(12))
        #expect(try KeyID(parsing: "ssh-3") == .ssh(3))
        for bad in ["key-", "key-0", "key--1", "ssh-1x", "b-1", "KEY-1", "key-99999999999999999999999"] {
            #expect(throws: CatalogError.self, "\(bad)") { try KeyID(parsing: bad) }
        }
    }
}
