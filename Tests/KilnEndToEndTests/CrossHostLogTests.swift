import Foundation
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnTestSupport
import Testing

/// A worker on "another host": its own network namespace, joined to this one
/// by a veth pair, reaching PostgreSQL over TCP on the veth address and
/// nothing else (not the server, not the test's loopback). The pusher and a
/// late `kiln logs` still see the whole build log, because it travels through
/// the database only. The file system is shared, as the blob store is in this
/// version; the network is what a second host would take away.
@Suite struct CrossHostLogTests {
    @Test func aBuildOnAWorkerInAnotherNetworkIsFollowedLiveAndLateThroughTheDatabase() async throws {
        let net = try await IsolatedNetwork.create()
        defer { net.destroy() }
        let scratch = try TestEnvironment.temporaryDirectory("xhost")
        let postgres = try await TCPPostgres.start(in: scratch, address: net.hostAddress, allowing: net.subnet)
        defer { postgres.stop() }
        let database = try DatabaseURL(postgres.url)
        try await Database.with(url: database, logger: TestEnvironment.logger) { try await Migrations.apply(on: $0) }

        let home = try TestEnvironment.temporaryDirectory("xhost-home")
        let port = try KilnFarm.freePort()
        let environment = ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path]
        let server = Command(TestEnvironment.binary, ["server", "--database-url", database.text, "--home", home.path, "--port", "\(port)"] + TestEnvironment.trustedFetchOptions, environment: environment)
        // nsenter, not `ip netns exec`, which mounts a sysfs of its own and so hides the cgroups the worker's limits need.
        let worker = Command("nsenter", ["--net=/run/netns/\(net.name)", "--", TestEnvironment.binary, "worker", "--database-url", database.text, "--home", home.path, "--capacity", "1"] + TestEnvironment.trustedFetchOptions,
                             environment: environment)

        // The worker's namespace really is another network: the server's loopback port is out of its reach.
        let reach = try await sh("ip", ["netns", "exec", net.name, "curl", "-s", "-m", "2", "http://127.0.0.1:\(port)/health"])
        #expect(!reach.succeeded)

        try await withRunning([server, worker]) {
            try await KilnFarm.waitForHealth("http://127.0.0.1:\(port)", log: home.appendingPathComponent("none"))
            let token = "kiln_admin_test_\(UUID().uuidString)"
            try await Database.with(url: database, logger: TestEnvironment.logger) { try await Catalog(database: $0).registerAdminKey(token) }
            let farm = KilnFarm(home: home, port: port, server: "http://127.0.0.1:\(port)", token: token)
            let key = try await farm.createApp("faraway")

            let buildpack = try await makeGitRepository([
                "bin/detect*": "#!/bin/sh\necho Far\n",
                "bin/compile*": "#!/bin/sh\nfor i in 1 2 3 4; do echo \"far step $i on $(hostname)\"; sleep 0.2; done\n",
            ])
            let repo = try await makeGitRepository(["Procfile": "web: ./run\n", ".buildpacks": "file://\(buildpack.path)#main\n"])
            let pushed = try await sh("git", ["push", farm.remote("faraway", key: key), "main"], in: repo)
            #expect(pushed.succeeded, "\(pushed.output)")
            for step in 1...4 { #expect(pushed.output.contains("remote: far step \(step)"), "\(pushed.output)") }

            // The worker that ran it is the one in the other namespace (the only one there is).
            let workers = try await farm.kiln("workers", "--json")
            #expect(workers.output.contains("\"capacity\" : 1"), "\(workers.output)")

            // A follower arriving after the end gets the log from its first line.
            let late = try await farm.kiln("logs", "b-1")
            #expect(late.succeeded, "\(late.output)")
            let lines = late.output.split(separator: "\n").map(String.init)
            let first = try #require(lines.firstIndex { $0.contains("far step 1") })
            let last = try #require(lines.firstIndex { $0.contains("far step 4") })
            #expect(first < last)
            #expect(late.output.contains("-----> Build b-1 done"))
        }
    }
}

/// A network namespace joined to this one by a veth pair on a /24 of
/// 10.213.0.0/16; removing the namespace removes the pair.
struct IsolatedNetwork: Sendable {
    let name: String
    let hostAddress: String
    let subnet: String

    static func create() async throws -> IsolatedNetwork {
        let tag = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(6)).lowercased()
        let octet = Int.random(in: 1...254)
        let net = IsolatedNetwork(name: "kiln-t-\(tag)", hostAddress: "10.213.\(octet).1", subnet: "10.213.\(octet).0/24")
        let inside = "kw\(tag)", outside = "kh\(tag)"
        let steps: [[String]] = [
            ["netns", "add", net.name],
            ["link", "add", outside, "type", "veth", "peer", "name", inside],
            ["link", "set", inside, "netns", net.name],
            ["addr", "add", "\(net.hostAddress)/24", "dev", outside],
            ["link", "set", outside, "up"],
            ["netns", "exec", net.name, "ip", "addr", "add", "10.213.\(octet).2/24", "dev", inside],
            ["netns", "exec", net.name, "ip", "link", "set", inside, "up"],
            ["netns", "exec", net.name, "ip", "link", "set", "lo", "up"],
        ]
        try await IPCommands.run(steps, undo: net.destroy)
        return net
    }

    func destroy() {
        IPCommands.runNow(["netns", "del", name])
    }
}

/// `ip` for the tests' networks: set-up steps that undo what was done when
/// one fails, and tear-down that runs even from a `defer`.
enum IPCommands {
    static func run(_ steps: [[String]], undo: () -> Void) async throws {
        for step in steps {
            let outcome = try await sh("ip", step)
            guard outcome.succeeded else {
                undo()
                throw TestSetupError("ip \(step.joined(separator: " ")) failed (network namespaces need root): \(outcome.output)")
            }
        }
    }

    /// Runs `ip` synchronously, ignoring failures (for tear-down).
    static func runNow(_ arguments: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }
}

/// A PostgreSQL of its own that listens on one TCP address only (no Unix
/// socket), so that a client in another namespace cannot reach it by a path.
struct TCPPostgres: Sendable {
    let data: URL
    let url: String

    /// Starts it listening on `address`, in the network namespace `namespace` when one is named.
    static func start(in scratch: URL, address: String, allowing subnet: String, namespace: String? = nil) async throws -> TCPPostgres {
        let bin = LocalPostgres.defaultBinDirectory()
        let data = scratch.appendingPathComponent("pgdata")
        let port = try KilnFarm.freePort()
        let asPostgres = getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
        func run(_ arguments: [String], inNamespace: Bool = false) async throws {
            let all = (inNamespace ? namespace.map { ["ip", "netns", "exec", $0] } ?? [] : []) + asPostgres + arguments
            let outcome = try await sh(all[0], Array(all.dropFirst()))
            guard outcome.succeeded else { throw TestSetupError("\(arguments.joined(separator: " ")): \(outcome.output)") }
        }
        if getuid() == 0 { _ = try await sh("chown", ["postgres:postgres", scratch.path]) }
        try await run(["\(bin)/initdb", "-D", data.path, "-U", "kiln", "--auth=trust", "--no-sync"])
        let hba = data.appendingPathComponent("pg_hba.conf")
        let rules = try String(contentsOf: hba, encoding: .utf8) + "host all all \(subnet) trust\n"
        try rules.write(to: hba, atomically: false, encoding: .utf8)
        try await run(["\(bin)/pg_ctl", "-D", data.path, "-l", scratch.appendingPathComponent("pg.log").path, "-w", "-o",
                       "-c listen_addresses='\(address)' -p \(port) -c unix_socket_directories='' -c fsync=off", "start"], inNamespace: true)
        return TCPPostgres(data: data, url: "postgres://kiln@\(address):\(port)/postgres")
    }

    func stop() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: getuid() == 0 ? "/usr/sbin/runuser" : LocalPostgres.defaultBinDirectory() + "/pg_ctl")
        process.arguments = (getuid() == 0 ? ["-u", "postgres", "--", LocalPostgres.defaultBinDirectory() + "/pg_ctl"] : [])
            + ["-D", data.path, "-m", "immediate", "-w", "stop"]
        process.standardOutput = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }
}
