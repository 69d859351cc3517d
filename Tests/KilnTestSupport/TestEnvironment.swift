import Foundation
import KilnDatabase
import KilnProcess
import Logging

/// What the test command (`scripts/test.sh`) provides: a running PostgreSQL,
/// the built `kiln` binary and a scratch directory others may traverse.
public enum TestEnvironment {
    /// The PostgreSQL the test command started (`KILN_TEST_DATABASE_URL`).
    public static var databaseURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["KILN_TEST_DATABASE_URL"] else {
                throw TestSetupError("KILN_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
            }
            return url
        }
    }

    /// The `kiln` binary under test.
    public static var binary: String {
        ProcessInfo.processInfo.environment["KILN_TEST_BINARY"] ?? ".build/debug/kiln"
    }

    /// The checkout's root (for builders/ and fixtures).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    public static let logger: Logger = {
        var logger = Logger(label: "kiln-test")
        logger.logLevel = .error
        return logger
    }()

    /// The scratch directory every test's files live under (`KILN_TEST_SCRATCH`).
    public static var scratchDirectory: String {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["KILN_TEST_SCRATCH"] ?? NSTemporaryDirectory()).standardizedFileURL.path
    }

    /// The fetch options of a farm the tests trust: `file://` buildpacks and
    /// submodules from the scratch directory (where tests make them), and
    /// fetches from loopback (the servers tests start). Tests of the fetch
    /// policy itself start their farm without them.
    public static var trustedFetchOptions: [String] {
        ["--buildpack-dir", scratchDirectory, "--allow-fetch-from", "127.0.0.0/8"]
    }

    /// A new, empty directory under the scratch directory, traversable by
    /// the `postgres` user (a private PostgreSQL may live in it).
    public static func temporaryDirectory(_ name: String = "t") throws -> URL {
        let url = URL(fileURLWithPath: scratchDirectory).appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return url
    }

    /// A fresh database with Kiln's schema, so that tests running at once never see each other's rows.
    public static func freshDatabase() async throws -> DatabaseURL {
        let base = try DatabaseURL(try databaseURL)
        let name = "kiln_test_\(UUID().uuidString.prefix(8).lowercased())"
        try await Database.with(url: base, logger: logger) { database in
            try await database.client.query("CREATE DATABASE \(unescaped: name)")
        }
        var components = URLComponents(string: try databaseURL)!
        components.path = "/\(name)"
        let url = try DatabaseURL(components.string!)
        _ = try await Database.with(url: url, logger: logger) { try await Migrations.apply(on: $0) }
        return url
    }
}

/// The test command did not provide what a test needs.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
