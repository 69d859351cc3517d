import Foundation
import KilnProcess

/// A whole Kiln, started with `kiln up` on a private PostgreSQL and a free
/// port, as a user would start it; stopped (SIGTERM) when the body returns.
public struct KilnFarm: Sendable {
    public let home: URL
    public let port: Int
    public let server: String
    public let token: String
    /// The port of its SSH server (`kiln up --ssh-port`), or 0 for a farm started some other way.
    public var sshPort = 0

    /// A farm whose parts were started some other way.
    public init(home: URL, port: Int, server: String, token: String) {
        self.home = home
        self.port = port
        self.server = server
        self.token = token
    }

    /// Starts `kiln up` (with `options`, and `environment` added to the test's), waits for `/health`, runs `body`, stops everything.
    /// Unless `strictFetching`, the farm trusts the tests' own fetches (``TestEnvironment/trustedFetchOptions``).
    /// `home` starts it again on the home of an earlier farm (its database and kiln.env); by default the home is new.
    public static func with<T: Sendable>(workers: Int = 2, options: [String] = [], environment: [String: String] = [:], strictFetching: Bool = false,
                                         home: URL? = nil, _ body: @Sendable (KilnFarm) async throws -> T) async throws -> T {
        let options = (strictFetching ? [] : TestEnvironment.trustedFetchOptions) + options
        let home = try home ?? TestEnvironment.temporaryDirectory("home")
        let port = try freePort()
        let sshPort = try freePort()
        let log = home.appendingPathComponent("up.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        var command = Command(TestEnvironment.binary, ["up", "--home", home.path, "--port", "\(port)", "--ssh-port", "\(sshPort)", "--workers", "\(workers)"] + options,
                              environment: ["KILN_BUILDERS": TestEnvironment.repositoryRoot.appendingPathComponent("builders").path].merging(environment) { $1 })
        // Room for kiln up's own orderly stop: workers drain 5 s, are killed at 10 s, then PostgreSQL stops.
        command.gracePeriod = .seconds(30)
        let up = command
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                _ = try await up.stream { line in logHandle.write(Data((line + "\n").utf8)) }
                return nil
            }
            defer { group.cancelAll() }
            let server = "http://127.0.0.1:\(port)"
            try await waitForHealth(server, log: log)
            let env = try String(contentsOf: home.appendingPathComponent("kiln.env"), encoding: .utf8)
            let token = env.split(separator: "\n").first { $0.hasPrefix("export KILN_TOKEN=") }.map { String($0.dropFirst(18)) } ?? ""
            var farm = KilnFarm(home: home, port: port, server: server, token: token)
            farm.sshPort = sshPort
            let result = try await body(farm)
            group.cancelAll()
            return result
        }
    }

    /// Runs a `kiln` client command against this farm.
    @discardableResult
    public func kiln(_ arguments: String...) async throws -> Command.Outcome {
        try await kiln(arguments)
    }

    /// Runs a `kiln` client command against this farm, its arguments made elsewhere.
    @discardableResult
    public func kiln(_ arguments: [String]) async throws -> Command.Outcome {
        try await sh(TestEnvironment.binary, arguments, environment: ["KILN_SERVER": server, "KILN_TOKEN": token])
    }

    /// Creates an app and a key for it; returns the key.
    public func createApp(_ name: String, branch: String? = nil) async throws -> String {
        let created = if let branch { try await kiln("apps", "create", name, "--branch", branch) } else { try await kiln("apps", "create", name) }
        guard created.succeeded else { throw TestSetupError("apps create failed: \(created.output)") }
        let key = try await kiln("keys", "create", "--app", name)
        guard key.succeeded, let last = key.output.split(separator: "\n").last else { throw TestSetupError("keys create failed: \(key.output)") }
        return String(last)
    }

    /// Downloads the slug of the app's newest build with `kiln slug get`
    /// into a new directory (slug.tar.zst, manifest.json, manifest.sig); returns it.
    public func newestSlug(app: String) async throws -> URL {
        let builds = try await kiln("builds", "list", "--app", app, "--json")
        guard let id = builds.output.firstMatch(of: /"id" : "(b-\d+)"/)?.1 else { throw TestSetupError("\(app) has no build: \(builds.output)") }
        let slug = try TestEnvironment.temporaryDirectory("slug-\(app)-\(id)")
        let got = try await kiln("slug", "get", String(id), "-o", slug.path)
        guard got.succeeded else { throw TestSetupError("kiln slug get \(id) failed: \(got.output)") }
        return slug
    }

    /// The push URL of `app` with `key` as the password.
    public func remote(_ app: String, key: String) -> String {
        server.replacingOccurrences(of: "http://", with: "http://kiln:\(key)@") + "/\(app).git"
    }

    /// Waits until something answers HTTP at `url` (any status), e.g. a file server just started.
    public static func waitForListener(_ url: String) async throws {
        for _ in 0..<300 {
            if let outcome = try? await sh("curl", ["-s", "-o", "/dev/null", "-m", "2", url]), outcome.succeeded { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("nothing answers at \(url)")
    }

    public static func waitForHealth(_ server: String, log: URL) async throws {
        for _ in 0..<600 {
            if let outcome = try? await sh("curl", ["-sf", "\(server)/health"]), outcome.succeeded { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let tail = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw TestSetupError("kiln up did not become healthy within 60 s:\n\(tail)")
    }

    /// A TCP port nothing listens on right now.
    public static func freePort() throws -> Int {
        try LoopbackPort.free()
    }
}
