import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// git over SSH with the real OpenSSH client: Kiln's own SSH server
/// (`kiln up --ssh-port`), and OpenSSH's sshd through `kiln ssh authorized-keys`.
@Suite struct SSHPushTests {
    static let staticApp = ["static.json": "{}\n", "public/index.html": "<h1>over ssh</h1>\n"]

    /// A key pair made with ssh-keygen, and the GIT_SSH_COMMAND that uses it alone.
    struct ClientKey {
        let file: URL
        let fingerprint: String
        var publicFile: URL { URL(fileURLWithPath: file.path + ".pub") }
        var sshCommand: String {
            "ssh -i \(file.path) -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        }
        var environment: [String: String] { ["GIT_SSH_COMMAND": sshCommand] }

        static func make(_ type: String = "ed25519") async throws -> ClientKey {
            let file = try TestEnvironment.temporaryDirectory("ssh-key").appendingPathComponent("id_\(type)")
            let made = try await sh("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "tester@kiln.invalid", "-f", file.path])
            guard made.succeeded else { throw TestSetupError("ssh-keygen failed: \(made.output)") }
            // The fingerprint as OpenSSH itself prints it: what Kiln must show.
            let listed = try await sh("ssh-keygen", ["-l", "-E", "sha256", "-f", file.path + ".pub"])
            let fingerprint = try #require(listed.output.split(separator: " ").dropFirst().first.map(String.init))
            return ClientKey(file: file, fingerprint: fingerprint)
        }
    }

    /// Adds `key` to `app` with `kiln keys add --ssh-file`; returns what it printed.
    static func add(_ key: ClientKey, to app: String, farm: KilnFarm) async throws -> String {
        let added = try await farm.kiln("keys", "add", "--app", app, "--ssh-file", key.publicFile.path)
        guard added.succeeded else { throw TestSetupError("keys add failed: \(added.output)") }
        return added.output
    }

    static func sshRemote(_ farm: KilnFarm, _ app: String) -> String { "ssh://git@127.0.0.1:\(farm.sshPort)/\(app).git" }

    /// Waits until the SSH server answers (it binds beside the HTTP server, which answered first).
    static func waitForSSH(_ farm: KilnFarm) async throws -> String {
        for _ in 0..<100 {
            let scan = try await sh("ssh-keyscan", ["-p", "\(farm.sshPort)", "127.0.0.1"])
            if scan.output.contains("ssh-ed25519") { return scan.output }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("the SSH server on port \(farm.sshPort) did not answer within 10 s")
    }

    @Test func aPushOverSSHStreamsItsBuildAndReleasesAsOverHTTPAndClonesBack() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            _ = try await farm.createApp("sshapp")
            let key = try await ClientKey.make()
            let added = try await Self.add(key, to: "sshapp", farm: farm)
            #expect(added.contains(key.fingerprint), "\(added)")
            let scanned = try await Self.waitForSSH(farm)

            let repo = try await makeGitRepository(Self.staticApp)
            let push = try await sh("git", ["push", Self.sshRemote(farm, "sshapp"), "main"], in: repo, environment: key.environment)
            #expect(push.succeeded, "\(push.output)")
            #expect(push.output.contains("remote: -----> Build b-1 queued for sshapp"))
            #expect(push.output.contains("remote: -----> Static (static.json) app detected"))
            #expect(push.output.contains("remote: -----> Released sshapp v1 (build b-1)"))

            // A push of many SSH windows (20 MB that do not compress), read only as git takes them.
            _ = try await sh("sh", ["-c", "head -c 20971520 /dev/urandom > public/blob.bin"], in: repo)
            _ = try await sh("git", ["add", "-A"], in: repo)
            _ = try await sh("git", ["commit", "-qm", "blob"], in: repo)
            let big = try await sh("git", ["push", Self.sshRemote(farm, "sshapp"), "main"], in: repo, environment: key.environment)
            #expect(big.succeeded, "\(big.output)")
            #expect(big.output.contains("remote: -----> Released sshapp v2 (build b-2)"), "\(big.output)")

            // The same key clones it back: upload-pack.
            let clone = try TestEnvironment.temporaryDirectory("ssh-clone").appendingPathComponent("sshapp")
            let cloned = try await sh("git", ["clone", "-q", Self.sshRemote(farm, "sshapp"), clone.path], environment: key.environment)
            #expect(cloned.succeeded, "\(cloned.output)")
            #expect(try String(contentsOf: clone.appendingPathComponent("public/index.html"), encoding: .utf8) == "<h1>over ssh</h1>\n")

            // Listed by the fingerprint OpenSSH prints.
            let keys = try await farm.kiln("keys", "list", "--app", "sshapp")
            #expect(keys.output.contains(key.fingerprint), "\(keys.output)")

            // The host keys kiln up printed are the ones the server presents.
            let log = try String(contentsOf: farm.home.appendingPathComponent("up.log"), encoding: .utf8)
            let printed = try #require(log.split(separator: "\n").first { $0.hasPrefix("git over SSH on") })
            let scanFile = farm.home.appendingPathComponent("scanned-host-keys")
            try scanned.write(to: scanFile, atomically: true, encoding: .utf8)
            let fingerprints = try await sh("ssh-keygen", ["-l", "-E", "sha256", "-f", scanFile.path])
            let presented = fingerprints.output.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            #expect(presented.count == 2, "\(fingerprints.output)")
            for fingerprint in presented { #expect(printed.contains(fingerprint), "\(printed) lacks \(fingerprint)") }
            let hostKeys = try await sh(TestEnvironment.binary, ["ssh", "host-keys", "--home", farm.home.path])
            for fingerprint in presented { #expect(hostKeys.output.contains(fingerprint)) }
        }
    }

    @Test func aFailedBuildRejectsTheSSHPushAndPushOptionsAskForACleanBuildOverSSHAndHTTP() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            let apiKey = try await farm.createApp("sshfail")
            let key = try await ClientKey.make("ecdsa")
            _ = try await Self.add(key, to: "sshfail", farm: farm)
            _ = try await Self.waitForSSH(farm)

            let undetectable = try await makeGitRepository(["README": "nothing to build\n"])
            let rejected = try await sh("git", ["push", Self.sshRemote(farm, "sshfail"), "main"], in: undetectable, environment: key.environment)
            #expect(!rejected.succeeded, "\(rejected.output)")
            #expect(rejected.output.contains("remote: push rejected: build b-1 failed"), "\(rejected.output)")
            #expect(rejected.output.contains("[remote rejected] main -> main"), "\(rejected.output)")

            let repo = try await makeGitRepository(Self.staticApp)
            let clean = try await sh("git", ["push", "-o", "kiln-clean", Self.sshRemote(farm, "sshfail"), "main"], in: repo, environment: key.environment)
            #expect(clean.succeeded, "\(clean.output)")
            try writeFiles(["public/more.html": "more\n"], in: repo)
            _ = try await sh("git", ["add", "-A"], in: repo)
            _ = try await sh("git", ["commit", "-qm", "more"], in: repo)
            let overHTTP = try await sh("git", ["push", "-o", "kiln-clean", farm.remote("sshfail", key: apiKey), "main"], in: repo)
            #expect(overHTTP.succeeded, "\(overHTTP.output)")
            try writeFiles(["public/plain.html": "plain\n"], in: repo)
            _ = try await sh("git", ["add", "-A"], in: repo)
            _ = try await sh("git", ["commit", "-qm", "plain"], in: repo)
            let plain = try await sh("git", ["push", Self.sshRemote(farm, "sshfail"), "main"], in: repo, environment: key.environment)
            #expect(plain.succeeded, "\(plain.output)")

            let list = try await farm.kiln("builds", "list", "--app", "sshfail", "--json")
            let builds = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
            let clean_ = Dictionary(uniqueKeysWithValues: builds.compactMap { build in (build["id"] as? String).map { ($0, build["clean"] as? Bool) } })
            #expect(clean_ == ["b-1": false, "b-2": true, "b-3": true, "b-4": false], "\(list.output)")
        }
    }

    @Test func theSSHServerRunsNothingButGitOfTheKeysOwnAppsAndARevokedKeyIsRefused() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            _ = try await farm.createApp("mine")
            _ = try await farm.createApp("theirs")
            let key = try await ClientKey.make()
            let added = try await Self.add(key, to: "mine", farm: farm)
            _ = try await Self.waitForSSH(farm)
            let repo = try await makeGitRepository(Self.staticApp)
            let ssh = ["-i", key.file.path, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                       "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-p", "\(farm.sshPort)", "git@127.0.0.1"]

            // Another app's repository: refused by name, with what to do.
            let other = try await sh("git", ["push", Self.sshRemote(farm, "theirs"), "main"], in: repo, environment: key.environment)
            #expect(!other.succeeded)
            #expect(other.output.contains("kiln: the SSH key \(key.fingerprint) may not use theirs.git"), "\(other.output)")
            // Any other command, a shell, a forwarded connection: refused.
            let command = try await sh("ssh", ssh + ["cat /etc/passwd"])
            #expect(command.status == 1)
            #expect(command.output.contains("is not a command Kiln runs"), "\(command.output)")
            #expect(!command.output.contains("root:"))
            let shell = try await sh("ssh", ssh)
            #expect(shell.status == 1)
            #expect(shell.output.contains("Kiln serves git only, no shell"), "\(shell.output)")
            let forward = try await sh("ssh", ["-W", "127.0.0.1:\(farm.port)"] + ssh)
            #expect(!forward.succeeded)
            #expect(forward.output.contains("stdio forwarding failed"), "\(forward.output)")
            // A path instead of an app name reaches no file.
            let path = try await sh("ssh", ssh + ["git-upload-pack '../../etc.git'"])
            #expect(path.status == 1)
            #expect(path.output.contains("is not a repository here"), "\(path.output)")

            // A key no app has is refused before any command.
            let stranger = try await ClientKey.make()
            let unknown = try await sh("git", ["push", Self.sshRemote(farm, "mine"), "main"], in: repo, environment: stranger.environment)
            #expect(!unknown.succeeded)
            #expect(unknown.output.contains("Permission denied (publickey)"), "\(unknown.output)")

            // Its own app works; once revoked, the next connection is refused.
            let pushed = try await sh("git", ["push", Self.sshRemote(farm, "mine"), "main"], in: repo, environment: key.environment)
            #expect(pushed.succeeded, "\(pushed.output)")
            let id = try #require(added.firstMatch(of: /ssh-\d+/).map { String($0.output) }, "\(added)")
            let revoked = try await farm.kiln("keys", "revoke", id)
            #expect(revoked.succeeded, "\(revoked.output)")
            let after = try await sh("git", ["fetch", Self.sshRemote(farm, "mine")], in: repo, environment: key.environment)
            #expect(!after.succeeded)
            #expect(after.output.contains("Permission denied (publickey)"), "\(after.output)")

            // An SSH key an app's API key added goes with that API key: a leaked key leaves no SSH access behind.
            let deployKey = try await farm.createApp("deployed")
            let added2 = try await sh(TestEnvironment.binary, ["keys", "add", "--app", "deployed", "--ssh-file", stranger.publicFile.path],
                                      environment: ["KILN_SERVER": farm.server, "KILN_TOKEN": deployKey])
            #expect(added2.succeeded, "\(added2.output)")
            let before = try await sh("git", ["push", Self.sshRemote(farm, "deployed"), "main"], in: repo, environment: stranger.environment)
            #expect(before.succeeded, "\(before.output)")
            let listed = try await farm.kiln("keys", "list", "--app", "deployed")
            let apiKeyID = try #require(listed.output.firstMatch(of: /key-\d+/).map { String($0.output) }, "\(listed.output)")
            #expect(try await farm.kiln("keys", "revoke", apiKeyID).succeeded)
            let gone = try await sh("git", ["fetch", Self.sshRemote(farm, "deployed")], in: repo, environment: stranger.environment)
            #expect(gone.output.contains("Permission denied (publickey)"), "\(gone.output)")

            // RSA is taken, with the note that only sshd authenticates it.
            let rsa = try await ClientKey.make("rsa")
            let rsaAdded = try await Self.add(rsa, to: "mine", farm: farm)
            #expect(rsaAdded.contains(rsa.fingerprint))
            #expect(rsaAdded.contains("kiln ssh authorized-keys"), "\(rsaAdded)")
        }
    }

    @Test(.enabled(if: getuid() == 0, "sshd runs as root"))
    func opensshsSshdPushesThroughTheAuthorizedKeysCommandAndItsForcedCommand() async throws {
        try await KilnFarm.with(workers: 1) { farm in
            _ = try await farm.createApp("viasshd")
            _ = try await farm.createApp("other")
            let key = try await ClientKey.make("rsa")
            _ = try await Self.add(key, to: "viasshd", farm: farm)
            let stranger = try await ClientKey.make()
            _ = try await Self.add(stranger, to: "other", farm: farm)
            try await OpenSSHServer.with(farm: farm) { sshd in
            let remote = "ssh://root@127.0.0.1:\(sshd.port)/viasshd.git"

            // What sshd asks: the line for a known key, nothing for a key no app has.
            let line = try await sh(sshd.command.path, ["root", String(try String(contentsOf: key.publicFile, encoding: .utf8).split(separator: " ")[1])])
            #expect(line.output.hasPrefix("command=\""), "\(line.output)")
            #expect(line.output.contains("restrict ssh-rsa "))
            let nobody = try await ClientKey.make()
            let none = try await sh(sshd.command.path, ["root", String(try String(contentsOf: nobody.publicFile, encoding: .utf8).split(separator: " ")[1])])
            #expect(none.succeeded)
            #expect(none.output.isEmpty, "\(none.output)")

            let repo = try await makeGitRepository(Self.staticApp)
            let push = try await sh("git", ["push", remote, "main"], in: repo, environment: key.environment)
            #expect(push.succeeded, "\(push.output)")
            #expect(push.output.contains("remote: -----> Released viasshd v1 (build b-1)"), "\(push.output)")
            // The forced command holds: another app's key may not use this app, nor run anything else.
            let other = try await sh("git", ["push", remote, "main"], in: repo, environment: stranger.environment)
            #expect(!other.succeeded)
            #expect(other.output.contains("may not use viasshd.git"), "\(other.output)")
            let command = try await sh("ssh", ["-i", key.file.path, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                                               "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-p", "\(sshd.port)", "root@127.0.0.1", "id"])
            #expect(command.status == 1)
            #expect(command.output.contains("is not a command Kiln runs"), "\(command.output)")
            // `restrict`: no forwarding through sshd either.
            let forward = try await sh("ssh", ["-W", "127.0.0.1:\(farm.port)", "-i", key.file.path, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                                               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                                               "-p", "\(sshd.port)", "root@127.0.0.1"])
            #expect(!forward.succeeded)
            #expect(forward.output.contains("stdio forwarding failed"), "\(forward.output)")
            let unknown = try await sh("git", ["push", remote, "main"], in: repo, environment: nobody.environment)
            #expect(unknown.output.contains("Permission denied (publickey)"), "\(unknown.output)")
            }
        }
    }
}

/// OpenSSH's sshd on a loopback port, as docs/operations.md configures it:
/// keys come from `kiln ssh authorized-keys`, installed where sshd accepts an
/// AuthorizedKeysCommand (a root-owned directory, writable by nobody else, up to /).
struct OpenSSHServer: Sendable {
    let port: Int
    /// The AuthorizedKeysCommand.
    let command: URL

    static func with<T: Sendable>(farm: KilnFarm, _ body: @escaping @Sendable (OpenSSHServer) async throws -> T) async throws -> T {
        let scratch = try TestEnvironment.temporaryDirectory("sshd")
        // /tmp is world-writable, so sshd would refuse a command below it.
        let directory = URL(fileURLWithPath: "/run/kiln-test-sshd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let command = directory.appendingPathComponent("authorized-keys")
        try "#!/bin/sh\nexec '\(TestEnvironment.binary)' ssh authorized-keys --home '\(farm.home.path)' --user root \"$@\"\n"
            .write(to: command, atomically: true, encoding: .utf8)
        chmod(command.path, 0o755)
        // sshd's privilege separation directory.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let hostKey = scratch.appendingPathComponent("host_ed25519")
        _ = try await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey.path])
        let port = try KilnFarm.freePort()
        let config = scratch.appendingPathComponent("sshd_config")
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey.path)
            PidFile none
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            AuthorizedKeysFile none
            AuthorizedKeysCommand \(command.path) %u %k
            AuthorizedKeysCommandUser root
            PermitRootLogin prohibit-password

            """.write(to: config, atomically: true, encoding: .utf8)
        let checked = try await sh("/usr/sbin/sshd", ["-t", "-f", config.path])
        guard checked.succeeded else { throw TestSetupError("sshd -t refused the configuration: \(checked.output)") }
        let server = OpenSSHServer(port: port, command: command)
        return try await withRunning([Command("/usr/sbin/sshd", ["-D", "-e", "-f", config.path])]) {
            for _ in 0..<100 {
                if try await sh("ssh-keyscan", ["-p", "\(port)", "127.0.0.1"]).output.contains("ssh-ed25519") { return try await body(server) }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TestSetupError("sshd did not answer on port \(port) within 10 s")
        }
    }
}
