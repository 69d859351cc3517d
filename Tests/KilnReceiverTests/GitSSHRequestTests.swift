@testable import KilnReceiver
import Testing

/// What an SSH client may ask Kiln to run, and the push options the hook reads.
@Suite struct GitSSHRequestTests {
    @Test(arguments: [
        ("git-receive-pack '/hello.git'", GitHTTPBackend.Service.receivePack),
        ("git-receive-pack 'hello.git'", .receivePack),
        ("git-upload-pack '/hello.git'", .uploadPack),
        ("git upload-pack 'hello'", .uploadPack),
        ("git-receive-pack hello.git", .receivePack),
    ])
    func gitsOwnCommandsNameAnApp(command: String, service: GitHTTPBackend.Service) throws {
        let request = try GitSSHRequest(command: command)
        #expect(request.service == service)
        #expect(request.app == "hello")
    }

    @Test(arguments: [
        ("ls /", "is not a command Kiln runs"),
        ("git-upload-archive 'hello.git'", "is not a command Kiln runs"),
        ("sh -c 'git-receive-pack hello.git'", "is not a command Kiln runs"),
        ("git-receive-pack 'hello.git' extra", "takes one repository"),
        ("git-receive-pack", "takes one repository"),
        ("git-upload-pack '../etc.git'", "is not a repository here"),
        ("git-upload-pack '/srv/repos/hello.git'", "is not a repository here"),
        ("git-upload-pack 'Hello.git'", "is not a repository here"),
        ("git-receive-pack 'hello.git;id'", "is not a repository here"),
        ("", "is not a command Kiln runs"),
    ])
    func anythingElseIsRefusedSayingWhatIsServed(command: String, reason: String) {
        #expect {
            _ = try GitSSHRequest(command: command)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func aRefusalQuotesTheCommandPrintableAndShort() {
        #expect {
            _ = try GitSSHRequest(command: "ls\n2026-12-01 info kiln: forged line\u{1b}[2J" + String(repeating: "x", count: 500))
        } throws: { error in
            let message = "\(error)"
            return !message.contains("\n") && !message.contains("\u{1b}") && message.contains("ls?2026-12-01") && message.count < 300
        }
    }

    @Test func pushOptionsAskForCleanAndHotBuilds() throws {
        func hook(_ options: [String], _ extra: [String: String] = [:]) throws -> PushHookEnvironment {
            var environment = ["KILN_APP": "a", "KILN_DATABASE_URL": "postgres://x@h/d", "KILN_HOME": "/h", "GIT_PUSH_OPTION_COUNT": "\(options.count)"]
            for (index, option) in options.enumerated() { environment["GIT_PUSH_OPTION_\(index)"] = option }
            return try PushHookEnvironment(from: environment.merging(extra) { $1 })
        }
        #expect(try hook(["kiln-clean"]).clean)
        #expect(try !hook(["kiln-clean"]).hot)
        #expect(try hook(["KILN-HOT"]).hot)
        #expect(try hook(["gigalixir-clean=true"]).clean)
        #expect(try !hook(["kiln-clean=false"]).clean)
        #expect(try !hook(["something-else"]).clean)
        #expect(try !hook([]).clean)
        // The HTTP header still counts.
        #expect(try hook([], ["KILN_CLEAN": "true"]).clean)
    }
}
