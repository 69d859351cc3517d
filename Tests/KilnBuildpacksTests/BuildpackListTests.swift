import KilnBuildpacks
import Testing

@Suite struct BuildpackListTests {
    @Test func aBuildpacksFileListsGitURLsWithRefsAndBuiltInNames() throws {
        let list = try BuildpackReference.parseList("""
            # comments and blank lines are ignored

            https://github.com/HashNuke/heroku-buildpack-elixir
            https://github.com/gigalixir/gigalixir-buildpack-phoenix-static.git#v1.2
            file:///srv/buildpacks/local
            procfile
            """)
        #expect(list.map(\.description) == [
            "https://github.com/HashNuke/heroku-buildpack-elixir",
            "https://github.com/gigalixir/gigalixir-buildpack-phoenix-static.git#v1.2",
            "file:///srv/buildpacks/local",
            "procfile",
        ])
        #expect(list[1].source == .git(url: "https://github.com/gigalixir/gigalixir-buildpack-phoenix-static.git", ref: "v1.2"))
        #expect(list[3].source == .builtIn(name: "procfile"))
    }

    @Test(arguments: [
        ("https://example.com/a\nftp://example.com/b", "line 2", "unsupported scheme"),
        ("\n\nhttps://a.example/x y", "line 3", "contains spaces"),
        ("https://a.example/x#", "line 1", "#ref"),
        ("../escape", "line 1", "neither a git URL"),
        ("# nothing\n\n", ".buildpacks lists no buildpack", "put one"),
    ])
    func aBadBuildpacksLineIsNamedInTheError(text: String, expected: String, reason: String) {
        let error = #expect(throws: BuildpackError.self) { try BuildpackReference.parseList(text) }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }
}

@Suite struct ProcessTypesTests {
    @Test func aProcfileDeclaresProcessTypes() throws {
        let types = try ProcessTypes.parseProcfile("web: bin/server --port $PORT\n# a comment\nworker:   mix run --no-halt\n")
        #expect(types.commands == ["web": "bin/server --port $PORT", "worker": "mix run --no-halt"])
    }

    @Test func aMalformedProcfileLineIsNamed() {
        let error = #expect(throws: BuildpackError.self) { try ProcessTypes.parseProcfile("web: ok\nthis is wrong\n") }
        #expect(error?.message.contains("Procfile line 2") == true)
    }

    @Test func theYAMLOfBinReleaseGivesDefaultProcessTypes() {
        let yaml = """
            ---
            addons:
              - heroku-postgresql
            default_process_types:
              web: "mix phx.server"
              console: 'iex -S mix'
              worker: bin/worker --queue "default"
            config_vars:
              LANG: en_US.UTF-8
            """
        #expect(ProcessTypes.parseRelease(yaml).commands == ["web": "mix phx.server", "console": "iex -S mix", "worker": "bin/worker --queue \"default\""])
        #expect(ProcessTypes.parseRelease("---\ndefault_process_types: {}\n").commands.isEmpty)
    }
}
