import Foundation
import KilnCNB
import Testing

/// project.toml and paastech/buildpacks.yaml as apps write them; what Kiln
/// will not read, or will not fetch, refused by name.
@Suite struct CNBProjectTests {
    func refusal(_ text: String) -> String? {
        let error = #expect(throws: CNBError.self) { try CNBProject.parse(text) }
        return error?.message
    }

    func yamlRefusal(_ text: String) -> String? {
        let error = #expect(throws: CNBError.self) { try CNBPaaSTechConfig.parse(text) }
        return error?.message
    }

    func source(_ uri: String) throws -> CNBBuildpackSource { try CNBProject.Buildpack(uri: uri).source }

    @Test func aSchema02FileIsReadWithItsGroupEnvAndInclude() throws {
        let project = try CNBProject.parse("""
            [_]
            schema-version = "0.2"
            id = "io.example.web"

            [io.buildpacks]
            builder = "paketobuildpacks/builder-jammy-base"
            include = ["cmd/", "go.mod", "*.go"]

            [[io.buildpacks.group]]
            id = "paketo-buildpacks/nodejs"
            version = "1.2.3"

            [[io.buildpacks.group]]
            uri = "./buildpacks/local/"

            [[io.buildpacks.group]]
            uri = "https://example.com/releases/ruby-0.1.0.tgz"

            [[io.buildpacks.group]]
            uri = "git+https://github.com/example/bp.git#v1.0"

            [[io.buildpacks.group]]
            uri = "docker://gcr.io/paketo-buildpacks/java:1.0"

            [[io.buildpacks.build.env]]
            name = "BP_NODE_VERSION"
            value = "20.*"

            [[io.buildpacks.build.env]]
            name = "_EMPTY"
            """)
        #expect(project.schemaVersion == "0.2" && project.wantsCNB)
        #expect(project.builder == "paketobuildpacks/builder-jammy-base")
        #expect(project.buildpacks == [
            .init(id: "paketo-buildpacks/nodejs", version: "1.2.3"),
            .init(uri: "./buildpacks/local/"),
            .init(uri: "https://example.com/releases/ruby-0.1.0.tgz"),
            .init(uri: "git+https://github.com/example/bp.git#v1.0"),
            .init(uri: "docker://gcr.io/paketo-buildpacks/java:1.0"),
        ])
        #expect(try project.buildpacks.map { try $0.source } == [
            .farm(id: "paketo-buildpacks/nodejs", version: "1.2.3"),
            .app("buildpacks/local"),
            .tarball(URL(string: "https://example.com/releases/ruby-0.1.0.tgz")!),
            .git(URL(string: "https://github.com/example/bp.git")!, ref: "v1.0"),
            .registry("gcr.io/paketo-buildpacks/java:1.0"),
        ])
        #expect(project.buildpacks.map(\.groupEntry) == [CNBGroupEntry(id: "paketo-buildpacks/nodejs", version: "1.2.3"), nil, nil, nil, nil])
        #expect(project.env == [.init(name: "BP_NODE_VERSION", value: "20.*"), .init(name: "_EMPTY", value: "")])
        #expect(project.include == ["cmd/", "go.mod", "*.go"] && project.exclude.isEmpty)
    }

    @Test func theSpecsBuildTableFormOf02IsReadToo() throws {
        let project = try CNBProject.parse("""
            [_]
            schema-version = "0.2"
            [io.buildpacks.build]
            exclude = ["spec/"]
            [[io.buildpacks.build.buildpacks]]
            id = "io.buildpacks/java"
            version = "1.0"
            """)
        #expect(project.buildpacks == [.init(id: "io.buildpacks/java", version: "1.0")] && project.exclude == ["spec/"])
    }

    @Test func aSchema01FileIsRead() throws {
        let project = try CNBProject.parse("""
            [project]
            id = "io.buildpacks.my-app"
            version = "0.1"

            [build]
            exclude = ["/README.md", "spec/"]

            [[build.buildpacks]]
            id = "heroku/nodejs"

            [[build.buildpacks]]
            uri = "urn:cnb:registry:heroku/procfile@2.0.0"

            [[build.env]]
            name = "JAVA_OPTS"
            value = "-Xmx1g"
            """)
        #expect(project.schemaVersion == "0.1" && project.wantsCNB)
        #expect(project.buildpacks == [.init(id: "heroku/nodejs"), .init(uri: "urn:cnb:registry:heroku/procfile@2.0.0")])
        #expect(project.buildpacks.map(\.groupEntry) == [CNBGroupEntry(id: "heroku/nodejs"), CNBGroupEntry(id: "heroku/procfile", version: "2.0.0")])
        #expect(project.env == [.init(name: "JAVA_OPTS", value: "-Xmx1g")])
        #expect(project.exclude == ["/README.md", "spec/"] && project.include.isEmpty)
    }

    @Test func aProjectTomlWithoutBuildpacksAsksForNoCNBBuild() throws {
        let withEnv = try CNBProject.parse("""
            [_]
            schema-version = "0.2"
            [[io.buildpacks.build.env]]
            name = "PORT"
            value = "8080"
            """)
        #expect(!withEnv.wantsCNB && withEnv.schemaVersion == "0.2" && withEnv.env == [.init(name: "PORT", value: "8080")])
        // Another tool's project.toml: no CNB tables at all.
        let other = try CNBProject.parse("[tool.poetry]\nname = \"web\"\n")
        #expect(!other.wantsCNB && other.schemaVersion == nil && other == CNBProject())
        let empty01 = try CNBProject.parse("[build]\ninclude = [\"src/\"]\n")
        #expect(!empty01.wantsCNB && empty01.schemaVersion == "0.1" && empty01.include == ["src/"])
    }

    @Test func badProjectFilesAreRefusedByName() {
        let group = "[_]\nschema-version = \"0.2\"\n"
        for (text, message) in [
            (group + "[[io.buildpacks.group]]\nid = \"a/b\"\n[[io.buildpacks.group]]\nversion = \"1.0\"\n",
             "project.toml: [[io.buildpacks.group]] entry 2 has neither id nor uri: name the buildpack by id (and version) or give its uri"),
            (group + "[[io.buildpacks.group]]\nid = 7\n",
             "project.toml: [[io.buildpacks.group]] entry 1: id must be a string, not an integer: quote it (id = \"…\")"),
            (group + "[[io.buildpacks.group]]\nid = \"a/b\"\nversion = 1.0\n",
             "project.toml: [[io.buildpacks.group]] entry 1: version must be a string, not a floating-point number: quote it (version = \"…\")"),
            (group + "[[io.buildpacks.group]]\nuri = [\"x\"]\n",
             "project.toml: [[io.buildpacks.group]] entry 1: uri must be a string, not an array: quote it (uri = \"…\")"),
            ("[_]\nschema-version = \"0.3\"\n",
             "project.toml: schema-version \"0.3\" is not one Kiln reads (it reads 0.1 and 0.2): write schema-version = \"0.2\""),
            ("[[io.buildpacks.group]]\nid = \"a/b\"\n",
             "project.toml has [io.buildpacks] but no schema-version: add [_] with schema-version = \"0.2\""),
            (group + "[[io.buildpacks.build.env]]\nvalue = \"x\"\n",
             "project.toml: [[io.buildpacks.build.env]] entry 1 has no name: give each variable name = \"NAME\" and value = \"…\""),
            (group + "[[io.buildpacks.build.env]]\nname = \"1PORT\"\nvalue = \"x\"\n",
             "project.toml: [[io.buildpacks.build.env]] entry 1: \"1PORT\" is not an environment variable name: use letters, digits and underscores, not starting with a digit"),
            ("[build]\n[[build.env]]\nname = \"MY-VAR\"\n",
             "project.toml: [[build.env]] entry 1: \"MY-VAR\" is not an environment variable name: use letters, digits and underscores, not starting with a digit"),
            (group + "[[io.buildpacks.group]]\nuri = \"https://example.com/bp.tgz\"\nversion = \"1\"\n",
             "project.toml: [[io.buildpacks.group]] entry 1 gives both uri and version, which the spec forbids: a uri names one version already; drop version, or name the buildpack by id and version"),
            (group + "[io.buildpacks]\ninclude = [\"a\"]\nexclude = [\"b\"]\n",
             "project.toml gives both io.buildpacks.include and io.buildpacks.exclude, which the spec forbids: keep include (the only files the build sees) or exclude (the files it does not)"),
            (group + "[[io.buildpacks.pre.group]]\nid = \"a/b\"\n",
             "project.toml: Kiln does not run [[io.buildpacks.pre.group]]: list those buildpacks in [[io.buildpacks.group]], in the order they should run"),
            (group + "[[io.buildpacks.group]]\nid = \"../../etc\"\n",
             "project.toml: [[io.buildpacks.group]] entry 1: \"../../etc\" is not a buildpack id: use letters, digits, '.', '-', '_' and '/' between names (e.g. paketo-buildpacks/nodejs)"),
            (group + "[[io.buildpacks.group]]\nid = \"a\"\n[[io.buildpacks.build.buildpacks]]\nid = \"b\"\n",
             "project.toml gives both io.buildpacks.group and io.buildpacks.build.buildpacks: keep one"),
            ("[_]\nschema-version = \"0.1\"\n[io.buildpacks]\nbuilder = \"x\"\n",
             "project.toml declares schema-version 0.1, which has no [io.buildpacks]: set schema-version = \"0.2\", or move the buildpacks to [[build.buildpacks]]"),
        ] {
            #expect(refusal(text) == message)
        }
        let malformed = refusal("[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]\nid = \"x\"\n")
        #expect(malformed?.hasPrefix("project.toml is not valid TOML (line 3): ") == true, "\(malformed ?? "")")
        let named = #expect(throws: CNBError.self) { try CNBProject.parse("[build]\n[[build.buildpacks]]\n", file: "web/project.toml") }
        #expect(named?.message == "web/project.toml: [[build.buildpacks]] entry 1 has neither id nor uri: name the buildpack by id (and version) or give its uri")
    }

    @Test func hostileSizesAreBounded() {
        let head = "[_]\nschema-version = \"0.2\"\n"
        let buildpacks = head + String(repeating: "[[io.buildpacks.group]]\nid = \"a/b\"\n", count: 65)
        #expect(refusal(buildpacks) == "project.toml: [[io.buildpacks.group]] has 65 entries; Kiln takes at most 64 buildpacks")
        #expect((try? CNBProject.parse(head + String(repeating: "[[io.buildpacks.group]]\nid = \"a/b\"\n", count: 64)))?.buildpacks.count == 64)
        let env = head + String(repeating: "[[io.buildpacks.build.env]]\nname = \"A\"\nvalue = \"1\"\n", count: 1025)
        #expect(refusal(env) == "project.toml: [[io.buildpacks.build.env]] has 1025 entries; Kiln takes at most 1024 build environment variables")
        let huge = head + "# " + String(repeating: "x", count: 1 << 20) + "\n"
        #expect(refusal(huge)?.hasSuffix("bytes; Kiln reads a project descriptor of at most 1 MiB: keep only the build's settings in it") == true)
    }

    @Test func urisAreTakenApart() throws {
        #expect(try source("some-dir/") == .app("some-dir"))
        #expect(try source("./bp") == .app("bp"))
        #expect(try source(".") == .app("."))
        #expect(try source("file://vendor/bp") == .app("vendor/bp"))
        #expect(try source("http://example.com/a/bp.tar") == .tarball(URL(string: "http://example.com/a/bp.tar")!))
        #expect(try source("https://example.com/bp.tar.gz?sig=1") == .tarball(URL(string: "https://example.com/bp.tar.gz?sig=1")!))
        #expect(try source("https://github.com/example/bp.git") == .git(URL(string: "https://github.com/example/bp.git")!, ref: nil))
        #expect(try source("https://github.com/example/bp.git#main") == .git(URL(string: "https://github.com/example/bp.git")!, ref: "main"))
        #expect(try source("git+https://example.com/bp#0a1b2c") == .git(URL(string: "https://example.com/bp")!, ref: "0a1b2c"))
        #expect(try source("urn:cnb:builder:paketo-buildpacks/java") == .farm(id: "paketo-buildpacks/java", version: nil))
        #expect(try source("urn:cnb:registry:paketo-buildpacks/java@9.1.0") == .farm(id: "paketo-buildpacks/java", version: "9.1.0"))
        #expect(try CNBProject.Buildpack(id: "heroku/go").source == .farm(id: "heroku/go", version: nil))
    }

    @Test func badUrisAreRefusedByName() {
        for (uri, message) in [
            ("/opt/bp", "uri \"/opt/bp\" is an absolute path, which points outside the app: give a path relative to the app's root"),
            ("bp/../../x", "uri \"bp/../../x\" has a .. component, which could point outside the app: give a path relative to the app's root"),
            ("bp\u{0}x", "uri \"bp\\u0000x\" contains a NUL byte: write the uri as plain text"),
            ("file:///etc/bp", "uri \"file:///etc/bp\" points outside the app (an absolute path on the build machine): give a path relative to the app's root, or name the buildpack by id"),
            ("file://%2e%2e/bp", "uri \"file://%2e%2e/bp\" has a .. component, which could point outside the app: give a path relative to the app's root"),
            ("ftp://example.com/bp.tgz", "uri \"ftp://example.com/bp.tgz\" uses the scheme ftp:, which Kiln does not fetch buildpacks by: give a path in the app, an https URL of a .tgz or a git repository, docker://IMAGE, or name the buildpack by id"),
            ("https://example.com/bp.zip", "uri \"https://example.com/bp.zip\" names neither a buildpack archive (a path ending .tgz, .tar.gz or .tar) nor a git repository (ending .git, or git+https://…): point it at one of those"),
            ("git+https://example.com/bp.git#--upload-pack=x", "uri \"git+https://example.com/bp.git#--upload-pack=x\" has #--upload-pack=x, which is not a git ref: after # give a branch, tag or commit"),
            ("docker://-rm", "uri \"docker://-rm\" is not docker://IMAGE with an image reference such as docker://gcr.io/paketo-buildpacks/java:1.0"),
            ("urn:cnb:other:x", "uri \"urn:cnb:other:x\" is not urn:cnb:registry:ID@VERSION, urn:cnb:builder:ID or urn:buildpack:ID: write one of those, or name the buildpack by id"),
        ] {
            let error = #expect(throws: CNBError.self) { try source(uri) }
            #expect(error?.message == message)
        }
        // parse checks every entry's uri, naming the file and the entry.
        #expect(refusal("[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"../bp\"\n")
            == "project.toml: [[io.buildpacks.group]] entry 1: uri \"../bp\" has a .. component, which could point outside the app: give a path relative to the app's root")
    }

    @Test func thePaaSTechExampleIsRead() throws {
        let config = try CNBPaaSTechConfig.parse("""
            buildpacks:
              path: "."
              builder: "paketobuildpacks/builder:full"
              buildpack: "paketo-buildpacks/web-servers"
              env:
                - "BP_WEB_SERVER=nginx"
                - "BP_WEB_SERVER_ROOT=dist"
            """)
        #expect(config == CNBPaaSTechConfig(path: ".", builder: "paketobuildpacks/builder:full", buildpack: "paketo-buildpacks/web-servers",
                                            env: [.init(name: "BP_WEB_SERVER", value: "nginx"), .init(name: "BP_WEB_SERVER_ROOT", value: "dist")]))
        #expect(config.buildpackEntry == CNBGroupEntry(id: "paketo-buildpacks/web-servers"))
    }

    @Test func thePaaSTechMappingEnvAndDefaultsAreRead() throws {
        let config = try CNBPaaSTechConfig.parse("""
            other: kept for another tool
            buildpacks:
              path: ./web/
              buildpack: paketo-buildpacks/nodejs@1.2.3
              env:
                PORT: 8080
                OPTS: "a=b c"
                EMPTY:
            """)
        #expect(config.path == "web" && config.builder == nil && config.buildpack == "paketo-buildpacks/nodejs@1.2.3")
        #expect(config.buildpackEntry == CNBGroupEntry(id: "paketo-buildpacks/nodejs", version: "1.2.3"))
        #expect(config.env == [.init(name: "PORT", value: "8080"), .init(name: "OPTS", value: "a=b c"), .init(name: "EMPTY", value: "")])
        let defaults = try CNBPaaSTechConfig.parse("buildpacks:\n  builder: heroku/builder:24\n  env:\n    - \"A=x=y\"\n")
        #expect(defaults == CNBPaaSTechConfig(path: ".", builder: "heroku/builder:24", env: [.init(name: "A", value: "x=y")]))
    }

    @Test func badPaaSTechFilesAreRefusedByName() {
        let file = "paastech/buildpacks.yaml"
        for (text, message) in [
            ("path: .\n", "\(file) has no top-level buildpacks mapping: write buildpacks: with builder: or buildpack: (and path:, env:) beneath it"),
            ("- a\n- b\n", "\(file) has no top-level buildpacks mapping: write buildpacks: with builder: or buildpack: (and path:, env:) beneath it"),
            ("buildpacks:\n  - builder\n", "\(file): buildpacks must be a mapping (of path, builder, buildpack, env), not a list (line 2)"),
            ("buildpacks:\n  builder: [a, b]\n", "\(file): buildpacks.builder must be a builder's name, such as \"paketobuildpacks/builder:full\", not a list (line 2)"),
            ("buildpacks:\n  buildpack: true\n", "\(file): buildpacks.buildpack must be a buildpack id, such as \"paketo-buildpacks/nodejs\" or \"paketo-buildpacks/nodejs@1.2.3\", not true (a boolean) (line 2): quote it if it is meant as text"),
            ("buildpacks:\n  builder: b\n  path: {a: 1}\n", "\(file): buildpacks.path must be a directory of the app, such as \".\" or \"web\", not a mapping (line 3)"),
            ("buildpacks:\n  builder: b\n  path: /srv/app\n", "\(file): buildpacks.path \"/srv/app\" (line 3) is an absolute path, which points outside the app: give the directory of the code relative to the app's root (\".\" for the root)"),
            ("buildpacks:\n  builder: b\n  path: web/../..\n", "\(file): buildpacks.path \"web/../..\" (line 3) has a .. component, which could point outside the app: give the directory of the code relative to the app's root (\".\" for the root)"),
            ("buildpacks:\n  builder: b\n  path: \"a\\0b\"\n", "\(file): buildpacks.path \"a\\u0000b\" (line 3) contains a NUL byte: give the directory of the code relative to the app's root (\".\" for the root)"),
            ("buildpacks:\n  builder: b\n  env:\n    - BP_WEB_SERVER\n", "\(file): buildpacks.env item 1 (line 4), \"BP_WEB_SERVER\", has no '=': write NAME=VALUE"),
            ("buildpacks:\n  builder: b\n  env:\n    - \"9X=1\"\n", "\(file): buildpacks.env item 1 (line 4): \"9X\" is not an environment variable name: use letters, digits and underscores, not starting with a digit"),
            ("buildpacks:\n  builder: b\n  env:\n    BAD-NAME: 1\n", "\(file): buildpacks.env.BAD-NAME (line 4): \"BAD-NAME\" is not an environment variable name: use letters, digits and underscores, not starting with a digit"),
            ("buildpacks:\n  builder: b\n  env:\n    - {A: 1}\n", "\(file): buildpacks.env item 1 (line 4) must be a \"NAME=VALUE\" string, not a mapping"),
            ("buildpacks:\n  builder: b\n  env: 5\n", "\(file): buildpacks.env must be a list of \"NAME=VALUE\" strings or a mapping of NAME: value, not 5 (a number) (line 3)"),
            ("buildpacks:\n  path: .\n  env: []\n", "\(file) names neither a builder nor a buildpack: give buildpacks.builder (a builder the farm knows) or buildpacks.buildpack (a buildpack id, optionally id@version)"),
            ("buildpacks:\n  builder: a\n  builder: b\n", "\(file) is not valid YAML (line 2): builder given twice in one mapping: keep one"),
            ("buildpacks:\n  buildpack: ../x@1\n", "\(file): buildpacks.buildpack (line 2): \"../x\" is not a buildpack id: use letters, digits, '.', '-', '_' and '/' between names (e.g. paketo-buildpacks/nodejs)"),
        ] {
            #expect(yamlRefusal(text) == message)
        }
        let malformed = yamlRefusal("buildpacks:\n  builder: \"unterminated\n  env: [\n")
        #expect(malformed?.hasPrefix("\(file) is not valid YAML (line ") == true, "\(malformed ?? "")")
        let tooMany = "buildpacks:\n  builder: b\n  env:\n" + String(repeating: "    - A=1\n", count: 1025)
        #expect(yamlRefusal(tooMany) == "\(file): buildpacks.env has 1025 entries; Kiln takes at most 1024 build environment variables")
        let huge = "buildpacks:\n  builder: b\n# " + String(repeating: "x", count: 1 << 20) + "\n"
        #expect(yamlRefusal(huge)?.hasSuffix("bytes; Kiln reads at most 1 MiB of it: keep only the build's settings in it") == true)
        let named = #expect(throws: CNBError.self) { try CNBPaaSTechConfig.parse("", file: "web/paastech/buildpacks.yaml") }
        #expect(named?.message.hasPrefix("web/paastech/buildpacks.yaml has no top-level buildpacks mapping") == true)
    }
}
