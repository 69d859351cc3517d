import Foundation
import KilnRuntimes
import Testing

/// What apps write to ask for a runtime version, read as Heroku reads it.
@Suite struct RuntimeRequestTests {
    func request(_ runtime: String, _ files: [String: String]) throws -> RuntimeRequest? {
        try RuntimeRequest.read(runtime) { files[$0] }
    }

    func accepts(_ request: RuntimeRequest?, _ versions: [String]) -> [String] {
        versions.filter { request?.requirement.accepts(RuntimeVersion($0)!) == true }
    }

    @Test func aCommentedPythonVersionFileAsksForThatVersion() throws {
        let minor = try request("python", [".python-version": "# the version production runs\n\n3.12\n"])
        #expect(minor?.file == ".python-version")
        #expect(accepts(minor, ["3.12.0", "3.12.7", "3.11.2", "3.13.1"]) == ["3.12.0", "3.12.7"])
        let patch = try request("python", [".python-version": "3.12.4\n", "runtime.txt": "python-3.11.2"])
        #expect(accepts(patch, ["3.12.3", "3.12.4", "3.12.5"]) == ["3.12.4"])
    }

    @Test func runtimeTxtAndPipfileLockAskWhenThereIsNoPythonVersionFile() throws {
        let runtime = try request("python", ["runtime.txt": "python-3.11.9\n"])
        #expect(runtime?.file == "runtime.txt")
        #expect(accepts(runtime, ["3.11.9", "3.11.2"]) == ["3.11.9"])
        let lock = try request("python", ["Pipfile.lock": #"{"_meta": {"requires": {"python_version": "3.11"}}, "default": {}}"#])
        #expect(lock?.file == "Pipfile.lock")
        #expect(accepts(lock, ["3.11.2", "3.12.0"]) == ["3.11.2"])
        #expect(try request("python", ["requirements.txt": "flask\n"]) == nil)
    }

    @Test func unreadableVersionFilesAreNamed() {
        for (files, message) in [
            ([".python-version": "# nothing\n"], ".python-version names no version: write one, e.g. 3.12"),
            ([".python-version": "python3\n"], #".python-version must hold one version such as 3.12 or 3.12.4; it reads "python3""#),
            (["runtime.txt": "3.11"], #"runtime.txt must read python-3.12 or python-3.12.4; it reads "3.11""#),
            (["Pipfile.lock": "{"], "Pipfile.lock is not valid JSON: regenerate it with pipenv lock"),
        ] {
            let error = #expect(throws: RuntimeError.self) { try request("python", files) }
            #expect(error?.message == message)
        }
        let node = #expect(throws: RuntimeError.self) { try request("node", ["package.json": #"{"engines": {"node": "twenty"}}"#]) }
        #expect(node?.message == #"package.json's engines.node is "twenty", not a semver range such as 20.x or >=18"#)
    }

    @Test func enginesNodeIsASemverRangeAndNvmrcAVersion() throws {
        let versions = ["16.20.2", "18.19.0", "20.1.0", "20.20.2", "21.0.0", "24.19.0"]
        for (range, expected) in [
            ("20.x", ["20.1.0", "20.20.2"]), ("20", ["20.1.0", "20.20.2"]), ("^20.2", ["20.20.2"]), ("~20.1.0", ["20.1.0"]),
            (">=18 <21", ["18.19.0", "20.1.0", "20.20.2"]), (">= 21", ["21.0.0", "24.19.0"]), (">20", ["21.0.0", "24.19.0"]),
            ("<=18", ["16.20.2", "18.19.0"]), ("16 || 24.x", ["16.20.2", "24.19.0"]), ("16 - 18", ["16.20.2", "18.19.0"]),
            ("24.19.0", ["24.19.0"]), ("v24.19.0", ["24.19.0"]), ("*", versions), ("^0.2.3", []),
        ] {
            let asked = try request("node", ["package.json": #"{"name": "app", "engines": {"node": "\#(range)"}}"#])
            #expect(asked?.file == "package.json engines.node")
            #expect(accepts(asked, versions) == expected, "engines.node \(range)")
        }
        let caretZero = try #require(VersionRequirement.semver("^0.0.3"))
        #expect(caretZero.accepts(RuntimeVersion("0.0.3")!) && !caretZero.accepts(RuntimeVersion("0.0.4")!))
        let nvmrc = try request("node", [".nvmrc": "v20.20.2\n", "package.json": #"{"name": "app"}"#])
        #expect(nvmrc?.file == ".nvmrc")
        #expect(accepts(nvmrc, versions) == ["20.20.2"])
        #expect(accepts(try request("node", [".nvmrc": "lts/*\n"]), versions) == versions)
    }

    @Test func elixirAndErlangComeFromTheBuildpackConfigOrToolVersions() throws {
        let config = "erlang_version=24.3\nelixir_version=1.14.0\nalways_rebuild=false\n"
        let elixir = try request("elixir", ["elixir_buildpack.config": config])
        #expect(elixir?.file == "elixir_buildpack.config")
        #expect(accepts(elixir, ["1.14.0", "1.15.7"]) == ["1.14.0"])
        #expect(accepts(try request("erlang", ["elixir_buildpack.config": config]), ["24.3.4.17", "26.2.1"]) == ["24.3.4.17"])
        #expect(accepts(try request("elixir", ["elixir_buildpack.config": "elixir_version=(branch v1.15)\n"]), ["1.14.0", "1.15.7"]) == ["1.15.7"])
        let asdf = try request("elixir", [".tool-versions": "erlang 26.2.1\nelixir 1.15.7-otp-26\n"])
        #expect(asdf?.file == ".tool-versions")
        #expect(accepts(asdf, ["1.15.7", "1.14.0"]) == ["1.15.7"])
        #expect(accepts(try request("erlang", [".tool-versions": "erlang 26.2.1\nelixir 1.15.7-otp-26\n"]), ["26.2.1", "26.2.5"]) == ["26.2.1"])
    }

    @Test func mixExsDeclaresAnElixirRequirementWhenNothingPins() throws {
        let mix = #"def project, do: [app: :demo, version: "0.1.0", elixir: "~> 1.15", deps: deps()]"#
        let asked = try request("elixir", ["mix.exs": mix])
        #expect(asked?.file == "mix.exs")
        #expect(accepts(asked, ["1.14.0", "1.15.0", "1.18.4", "2.0.0"]) == ["1.15.0", "1.18.4"])
        #expect(accepts(try request("elixir", ["mix.exs": #"elixir: "~> 1.15.2","#]), ["1.15.1", "1.15.7", "1.16.0"]) == ["1.15.7"])
        #expect(accepts(try request("elixir", ["mix.exs": #"elixir: ">= 1.14.0 and < 1.16.0","#]), ["1.14.0", "1.15.7", "1.16.0"]) == ["1.14.0", "1.15.7"])
        // A pin wins over the declaration, and Erlang is not in mix.exs.
        #expect(try request("elixir", ["mix.exs": mix, ".tool-versions": "elixir 1.14.0\n"])?.file == ".tool-versions")
        #expect(try request("erlang", ["mix.exs": mix]) == nil)
        let error = #expect(throws: RuntimeError.self) { try request("elixir", ["mix.exs": #"elixir: "about 1.15","#]) }
        #expect(error?.message == #"mix.exs's elixir: "about 1.15" is not a version requirement such as ~> 1.15"#)
    }

    @Test func versionsCompareNumberByNumber() {
        #expect(RuntimeVersion("3.10.1")! > RuntimeVersion("3.9.18")!)
        #expect(RuntimeVersion("v20.20.2")!.description == "20.20.2")
        #expect(RuntimeVersion("1.15.7-otp-26")!.description == "1.15.7")
        #expect(RuntimeVersion("24.3")! == RuntimeVersion("24.3.0")! || RuntimeVersion("24.3")! < RuntimeVersion("24.3.1")!)
        #expect(RuntimeVersion("x") == nil)
    }
}
