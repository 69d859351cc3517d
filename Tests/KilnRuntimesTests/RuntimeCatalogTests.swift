import Foundation
import KilnRuntimes
import KilnTestSupport
import Testing

/// Which runtime a request gets, what a refusal says, and how runtimes are added.
@Suite struct RuntimeCatalogTests {
    let added = URL(fileURLWithPath: "/runtimes/python/3.12.4")

    var catalog: RuntimeCatalog {
        RuntimeCatalog(runtimes: [
            Runtime(kind: "python", version: RuntimeVersion("3.11.2")!, directory: nil),
            Runtime(kind: "python", version: RuntimeVersion("3.12.4")!, directory: added),
            Runtime(kind: "python", version: RuntimeVersion("3.12.1")!, directory: URL(fileURLWithPath: "/runtimes/python/3.12.1")),
        ])
    }

    func asking(_ text: String) -> RuntimeRequest {
        RuntimeRequest(runtime: "python", requirement: VersionRequirement.prefix(text)!, file: ".python-version")
    }

    @Test func theNewestMatchingRuntimeIsChosenAndTheStacksOwnWithoutARequest() throws {
        #expect(try catalog.select(.python, for: asking("3.12"))?.runtime.directory == added)
        #expect(try catalog.select(.python, for: asking("3.12.1"))?.runtime.version == RuntimeVersion("3.12.1"))
        #expect(try catalog.select(.python, for: asking("3.11"))?.runtime.directory == nil)
        #expect(try catalog.select(.python, for: nil)?.runtime.directory == nil)
        #expect(try RuntimeCatalog(runtimes: []).select(.python, for: nil) == nil)
    }

    @Test func aRequestNoRuntimeMeetsFailsInOneLineNamingTheFileAndWhatTheFarmHas() {
        let error = #expect(throws: RuntimeError.self) { try catalog.select(.python, for: asking("3.14")) }
        #expect(error?.message == ".python-version asks for Python 3.14; this farm has 3.12.4, 3.12.1, 3.11.2 (host); add a runtime with kiln runtimes add python DIR_OR_ARCHIVE, or ask for a version the farm has")
        let none = #expect(throws: RuntimeError.self) { try RuntimeCatalog(runtimes: []).select(.python, for: asking("3.14")) }
        #expect(none?.message.contains("this farm has none;") == true)
    }

    /// Gigalixir apps pin exact OTP and Elixir versions; one of the same
    /// series builds them, and the log says so. Another series is refused.
    @Test func erlangAndElixirPinsGetAStandInOfTheSameSeriesNamed() throws {
        let farm = RuntimeCatalog(runtimes: [Runtime(kind: "erlang", version: RuntimeVersion("25.2.3")!, directory: nil),
                                             Runtime(kind: "elixir", version: RuntimeVersion("1.14.0")!, directory: nil)])
        let otp = RuntimeRequest(runtime: "erlang", requirement: VersionRequirement.prefix("25.3")!, file: "elixir_buildpack.config")
        let choice = try #require(try farm.select(.erlang, for: otp))
        #expect(choice.runtime.version == RuntimeVersion("25.2.3"))
        #expect(choice.mismatch == "elixir_buildpack.config asks for Erlang/OTP 25.3; this farm has 25.2.3 (host): building with 25.2.3, of the same Erlang/OTP 25; add 25.3 with kiln runtimes add erlang DIR_OR_ARCHIVE to build with exactly it")
        let exact = RuntimeRequest(runtime: "elixir", requirement: VersionRequirement.prefix("1.14.0")!, file: ".tool-versions")
        #expect(try farm.select(.elixir, for: exact)?.mismatch == nil)
        let newer = RuntimeRequest(runtime: "elixir", requirement: VersionRequirement.prefix("1.15.7")!, file: ".tool-versions")
        let refused = #expect(throws: RuntimeError.self) { try farm.select(.elixir, for: newer) }
        #expect(refused?.message == ".tool-versions asks for Elixir 1.15.7; this farm has 1.14.0 (host); add a runtime with kiln runtimes add elixir DIR_OR_ARCHIVE, or ask for a version the farm has")
    }

    /// A runtime is a directory with the toolchain in bin/; the version is
    /// asked of the toolchain, so the folder's name cannot lie.
    @Test func anArchivedRuntimeIsAddedUnderTheVersionItReports() async throws {
        let scratch = try TestEnvironment.temporaryDirectory("runtimes")
        let build = scratch.appendingPathComponent("build/python-3.12.4-linux")
        try writeFiles(["bin/python3*": "#!/bin/sh\necho 'Python 3.12.4'\n", "lib/python3.12/os.py": "# os\n"], in: build)
        let archive = scratch.appendingPathComponent("python.tar.gz")
        #expect(try await sh("tar", ["-czf", archive.path, "-C", scratch.appendingPathComponent("build").path, "."]).succeeded)
        let directory = scratch.appendingPathComponent("farm")
        let runtime = try await RuntimeInstaller(directory: directory).add(.python, from: archive)
        #expect(runtime.version == RuntimeVersion("3.12.4"))
        #expect(runtime.directory?.path == directory.appendingPathComponent("python/3.12.4").path)
        #expect(RuntimeCatalog.scan(directory).map { "\($0.kind) \($0.version) \($0.directory?.path ?? "")" } == ["python 3.12.4 \(runtime.directory?.path ?? "")"])
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("python/3.12.4/lib/python3.12/os.py").path))

        let again = await #expect(throws: RuntimeError.self) { try await RuntimeInstaller(directory: directory).add(.python, from: archive) }
        #expect(again?.message == "python 3.12.4 is already in \(directory.path); add --replace to replace it")
        let wrong = await #expect(throws: RuntimeError.self) { try await RuntimeInstaller(directory: directory).add(.python, from: build, version: "3.13.0") }
        #expect(wrong?.message == "python-3.12.4-linux is Python 3.12.4, not 3.13.0")
        let empty = await #expect(throws: RuntimeError.self) { try await RuntimeInstaller(directory: directory).add(.node, from: build) }
        #expect(empty?.message == "python-3.12.4-linux holds no bin/node: a Node.js runtime is a directory with bin/node")
        // Nothing half-added is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("python").path) == ["3.12.4"])
    }
}
