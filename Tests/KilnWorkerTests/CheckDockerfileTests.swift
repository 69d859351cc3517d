import Foundation
import KilnCatalog
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The detect phase of an image build: what is refused before buildah runs.
@Suite struct CheckDockerfileTests {
    @Test func aRootDockerfileMakesAnImageBuildEvenAsALink() throws {
        let scratch = try PhaseScratch()
        #expect(try BuildKind.of(scratch.workspace, settings: try scratch.context().settings, configuration: scratch.configuration) == .slug)
        try FileManager.default.createSymbolicLink(atPath: scratch.workspace.app.appendingPathComponent("Dockerfile").path, withDestinationPath: "/etc/passwd")
        #expect(try BuildKind.of(scratch.workspace, settings: try scratch.context().settings, configuration: scratch.configuration) == .image)
    }

    @Test func aDockerfileThatIsALinkIsRefused() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["docker/Dockerfile": "FROM scratch\n"], in: scratch.workspace.app)
        try FileManager.default.createSymbolicLink(atPath: scratch.workspace.app.appendingPathComponent("Dockerfile").path, withDestinationPath: "docker/Dockerfile")
        let message = await failure { try await CheckDockerfile().run(try scratch.context()) }
        #expect(message == "the app's Dockerfile is a symbolic link, not a regular file: commit the file itself")
    }

    @Test func anAddOfAURLWithTheBuildNetworkOffIsRefusedNamingTheLine() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Dockerfile": "FROM debian\n# fetch the tool\nRUN true\nADD --chmod=755 https://example.com/tool /usr/local/bin/tool\n"], in: scratch.workspace.app)
        let message = await failure { try await CheckDockerfile().run(try scratch.context()) }
        #expect(message?.hasPrefix("the Dockerfile's line 4 (ADD https://example.com/tool) fetches from the network, and this app's build network is off") == true,
                "\(message ?? "no failure")")
        #expect(message?.contains("kiln apps set --app demo --build-network on") == true)
    }

    @Test func withTheBuildNetworkOnTheSameDockerfileGetsToTheFarmsOwnChecks() async throws {
        let scratch = try PhaseScratch()
        try writeFiles(["Dockerfile": "FROM debian\nADD https://example.com/tool /usr/local/bin/tool\n"], in: scratch.workspace.app)
        let app = App(name: "demo", deployBranch: "main", createdAt: Date(), buildNetwork: true)
        let message = await failure { try await CheckDockerfile().run(try scratch.context(app: app)) }
        // This farm has no registry: the next thing an image build needs.
        #expect(message?.hasPrefix("this app has a Dockerfile at its root, which asks for an image build, and this farm has no registry") == true,
                "\(message ?? "no failure")")
    }
}
