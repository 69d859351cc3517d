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

    @Test func theYAMLOfBinReleaseGivesDefaultProcessTypes() throws {
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
        let declaration = try ReleaseDeclaration.parse(yaml, buildpack: "bp")
        #expect(declaration.processTypes.commands == ["web": "mix phx.server", "console": "iex -S mix", "worker": "bin/worker --queue \"default\""])
        #expect(declaration.addons == ["heroku-postgresql"])
        #expect(declaration.configVars == ["LANG": "en_US.UTF-8"])
        #expect(try ReleaseDeclaration.parse("---\ndefault_process_types: {}\n", buildpack: "bp").processTypes.commands.isEmpty)
        #expect(try ReleaseDeclaration.parse("", buildpack: "bp") == ReleaseDeclaration())
    }

    /// What public buildpacks print beyond the simple block style: flow
    /// mappings and lists, block scalars, comments, a document end marker,
    /// numbers as config values.
    @Test func binReleaseYAMLInAnyStyleIsRead() throws {
        let yaml = """
            --- # printed by a buildpack
            addons: [heroku-postgresql:hobby-dev, "heroku-redis"]
            config_vars: {POOL_SIZE: 10, LANG: "en_US.UTF-8"}
            default_process_types:
              web: >-
                bin/start
                --port $PORT
              worker: |-
                bin/worker
            ...
            """
        let declaration = try ReleaseDeclaration.parse(yaml, buildpack: "bp")
        #expect(declaration.processTypes.commands == ["web": "bin/start --port $PORT", "worker": "bin/worker"])
        #expect(declaration.addons == ["heroku-postgresql:hobby-dev", "heroku-redis"])
        #expect(declaration.configVars == ["POOL_SIZE": "10", "LANG": "en_US.UTF-8"])
    }

    @Test func malformedBinReleaseYAMLNamesTheBuildpackAndTheLine() {
        let broken = #expect(throws: BuildpackError.self) {
            try ReleaseDeclaration.parse("---\ndefault_process_types:\n  web: \"bin/start\n  worker: x\n", buildpack: "https://example.com/bp.git")
        }
        #expect(broken?.message.hasPrefix("https://example.com/bp.git: bin/release printed malformed YAML (line ") == true)
        let shape = #expect(throws: BuildpackError.self) {
            try ReleaseDeclaration.parse("---\naddons: []\ndefault_process_types:\n  - web\n", buildpack: "bp")
        }
        #expect(shape?.message == "bp: bin/release's default_process_types, line 4, must be a mapping of names to values")
        let nested = #expect(throws: BuildpackError.self) {
            try ReleaseDeclaration.parse("default_process_types:\n  web:\n    cmd: x\n", buildpack: "bp")
        }
        #expect(nested?.message == "bp: bin/release's default_process_types.web, line 3, must be a single value, not a list or mapping")
        #expect(throws: BuildpackError.self) { try ReleaseDeclaration.parse("just text", buildpack: "bp") }
    }
}
