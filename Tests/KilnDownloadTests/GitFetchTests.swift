import Foundation
import Testing
@testable import KilnDownload

@Suite struct GitFetchTests {
    @Test func urlsAreSplitIntoWhatTheGuardChecks() throws {
        #expect(try GitFetch.parse("https://github.com/heroku/heroku-buildpack-ruby.git")
            == .init(scheme: "https", host: "github.com", path: "/heroku/heroku-buildpack-ruby.git"))
        #expect(try GitFetch.parse("https://user:pw@Example.com:8443/x.git#v1")
            == .init(scheme: "https", user: "user:pw", host: "Example.com", port: 8443, path: "/x.git#v1"))
        #expect(try GitFetch.parse("git@github.com:owner/repo.git")
            == .init(scheme: "ssh", user: "git", host: "github.com", path: "owner/repo.git", scpLike: true))
        #expect(try GitFetch.parse("ssh://git@[::1]:2222/repo") == .init(scheme: "ssh", user: "git", host: "::1", port: 2222, path: "/repo"))
        #expect(try GitFetch.parse("https://127.0.0.1@evil.example/x").host == "evil.example")
    }

    @Test func localPathsAndOddURLsAreRefused() {
        for url in ["/etc", "./here", "../up", "here", "ext::sh -c touch% /tmp/x", "https://a\\b/x", "https://exa mple.com/x",
                    "https://exa_mple.com/x", "ext::sh", "https://a@b@evil.example/x", "https://%31%32%37.0.0.1/x", "-uhttps://x/y", "https://host:0/x", "ftp://example.com/x"] {
            #expect(throws: FetchRefused.self, "\(url)") { try GitFetch.parse(url) }
        }
    }

    @Test func fileURLsAreReadOnlyInsideAListedDirectoryAfterResolvingLinks() throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fetch-\(UUID().uuidString.prefix(8))")
        let allowed = root.appendingPathComponent("allowed"), outside = root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: allowed.appendingPathComponent("bp"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(atPath: allowed.appendingPathComponent("escape").path, withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(atPath: outside.appendingPathComponent("into").path, withDestinationPath: allowed.appendingPathComponent("bp").path)
        let policy = FetchPolicy(localDirectories: [allowed.path])

        #expect(try policy.localPath(of: "file://\(allowed.path)/bp") == FetchPolicy.realPath(allowed.path + "/bp"))
        // A link out of the directory is refused, and a link into it from outside is read at its real place.
        #expect(throws: FetchRefused.self) { try policy.localPath(of: "file://\(allowed.path)/escape") }
        #expect(try policy.localPath(of: "file://\(outside.path)/into") == FetchPolicy.realPath(allowed.path + "/bp"))
        #expect(throws: FetchRefused.self) { try policy.localPath(of: "file://\(allowed.path)/bp/../../outside") }
        #expect(throws: FetchRefused.self) { try policy.localPath(of: "file://\(allowed.path)-sibling") }
        #expect(throws: FetchRefused.self) { try FetchPolicy().localPath(of: "file://\(allowed.path)/bp") }
    }

    @Test func httpsIsPinnedToTheCheckedAddressAndOtherProtocolsNeedTheOperator() async throws {
        let loopback = FetchPolicy(allowedRanges: [try CIDR("127.0.0.0/8")])
        let remote = try await GitFetch(policy: loopback).remote("https://localhost:8443/x.git")
        #expect(remote.configuration.contains { $0.hasPrefix("http.curloptResolve=localhost:8443:") && $0.contains("127.0.0.1") })
        await #expect(throws: FetchRefused.self) { try await GitFetch(policy: loopback).remote("ssh://git@localhost/x.git") }
        await #expect(throws: FetchRefused.self) { try await GitFetch(policy: FetchPolicy()).remote("https://localhost/x.git") }
        var ssh = loopback
        ssh.gitProtocols = [.ssh]
        let pinned = try await GitFetch(policy: ssh).remote("git@localhost:owner/x.git")
        #expect(pinned.url == "git@127.0.0.1:owner/x.git" || pinned.url == "git@[::1]:owner/x.git")
    }

    @Test func protocolsAreParsedAndUnknownOnesNamed() throws {
        #expect(try FetchPolicy.gitProtocols(["ssh,git", "https"]) == [.ssh, .git])
        #expect(throws: FetchConfigurationError.self) { try FetchPolicy.gitProtocols(["ssh,ext"]) }
    }
}
