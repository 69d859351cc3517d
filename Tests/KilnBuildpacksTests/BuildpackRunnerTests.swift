import Foundation
import KilnBuildpacks
import KilnSandbox
import KilnTestSupport
import Synchronization
import Testing

/// Collects log lines from concurrent writers.
final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])
    var lines: [String] { storage.withLock { $0 } }
    var sink: @Sendable (String) async throws -> Void { { line in self.storage.withLock { $0.append(line) } } }
}

/// The Heroku buildpack API, run in the build sandbox as a worker runs it.
@Suite struct BuildpackRunnerTests {
    /// A build's directories, given to the build user as the worker does.
    struct Scratch {
        let layout: BuildLayout
        let user: SandboxUser?

        init() throws {
            let root = try TestEnvironment.temporaryDirectory()
            layout = BuildLayout(app: root.appendingPathComponent("app"), cache: root.appendingPathComponent("cache"), env: root.appendingPathComponent("env"),
                                 buildpacks: root.appendingPathComponent("buildpacks"), builders: root.appendingPathComponent("builders"))
            for directory in [layout.app, layout.cache, layout.env, layout.buildpacks, layout.builders] {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            user = getuid() == 0 ? try SandboxUser.named("kiln-build") : nil
        }

        func buildpack(_ name: String, compile: String, detect: String = "#!/bin/sh\necho Test\n", release: String? = nil) throws -> Buildpack {
            var files = ["bin/detect*": detect, "bin/compile*": compile]
            if let release { files["bin/release*"] = release }
            let root = layout.buildpacks.appendingPathComponent(name)
            try writeFiles(files, in: root)
            return Buildpack(reference: name, directory: root)
        }

        func runner(version: String = "x") throws -> BuildpackRunner {
            if let user { for directory in [layout.app, layout.cache, layout.env, layout.buildpacks] { try user.own(directory) } }
            return BuildpackRunner(sourceVersion: version, layout: layout, user: user)
        }
    }

    @Test func compileGetsTheHerokuArgumentsAndExportsChainToTheNextBuildpack() async throws {
        let scratch = try Scratch()
        try "secret-value".write(to: scratch.layout.env.appendingPathComponent("DATABASE_URL"), atomically: true, encoding: .utf8)
        let first = try scratch.buildpack("first", compile: """
            #!/bin/sh
            set -e
            echo "-----> first: build=$1 cache=$2 env=$3"
            echo "db=$(cat "$3/DATABASE_URL")"
            echo "stack=$STACK version=$SOURCE_VERSION build_dir=$BUILD_DIR"
            echo "worker-secret=${KILN_DATABASE_URL:-unset}"
            echo built > "$1/from-first"
            echo "export TOOL_HOME=/opt/first-tool" > "$(dirname "$0")/../export"
            """)
        let second = try scratch.buildpack("second", compile: """
            #!/bin/sh
            echo "-----> second sees TOOL_HOME=$TOOL_HOME and $(cat "$1/from-first")"
            echo "to stderr" >&2
            """, release: """
            #!/bin/sh
            cat <<YAML
            ---
            addons:
              - heroku-postgresql
            config_vars:
              MIX_ENV: prod
            default_process_types:
              web: ./serve
            YAML
            """)
        let runner = try scratch.runner(version: "abc123")
        #expect(try await runner.detect(first) == "Test")
        let collector = LineCollector()
        try await runner.compile(first, after: [], log: collector.sink)
        #expect(runner.exportFile(of: first) != nil)
        try await runner.compile(second, after: [first], log: collector.sink)
        let release = try await runner.release(second)
        #expect(release.processTypes.commands == ["web": "./serve"])
        #expect(release.addons == ["heroku-postgresql"])
        #expect(release.configVars == ["MIX_ENV": "prod"])

        let lines = collector.lines
        #expect(lines.contains("-----> first: build=/app cache=/cache env=/env"), "\(lines)")
        #expect(lines.contains("db=secret-value"))
        #expect(lines.contains("stack=heroku-22 version=abc123 build_dir=/app"))
        #expect(lines.contains("worker-secret=unset"))
        #expect(lines.contains("-----> second sees TOOL_HOME=/opt/first-tool and built"))
        #expect(lines.contains("to stderr"))
        #expect(FileManager.default.fileExists(atPath: scratch.layout.app.appendingPathComponent("from-first").path))
    }

    @Test func aFailingCompileNamesTheBuildpackItsStatusAndItsLastLines() async throws {
        let scratch = try Scratch()
        let failing = try scratch.buildpack("broken", compile: "#!/bin/sh\necho 'resolving deps'\necho 'mix.lock is missing'\nexit 3\n")
        let collector = LineCollector()
        let error = await #expect(throws: BuildpackError.self) {
            try await scratch.runner().compile(failing, after: [], log: collector.sink)
        }
        #expect(error?.message == "broken: bin/compile exited 3; its last lines:\nresolving deps\nmix.lock is missing")
        #expect(collector.lines == ["resolving deps", "mix.lock is missing"])
    }

    @Test func detectDecliningReturnsNil() async throws {
        let scratch = try Scratch()
        let pack = try scratch.buildpack("picky", compile: "#!/bin/sh\n", detect: "#!/bin/sh\n[ -f \"$1/mix.exs\" ] && echo Elixir\n")
        #expect(try await scratch.runner().detect(pack) == nil)
    }

    @Test func aBuildpackWithoutBinReleaseDeclaresNothing() async throws {
        let scratch = try Scratch()
        let pack = try scratch.buildpack("no-release", compile: "#!/bin/sh\n")
        #expect(try await scratch.runner().release(pack) == ReleaseDeclaration())
    }

    @Test func malformedYAMLFromBinReleaseFailsNamingTheBuildpackAndTheLine() async throws {
        let scratch = try Scratch()
        // An unclosed quote on line 3, as a hand-written printf easily leaves.
        let pack = try scratch.buildpack("quoting", compile: "#!/bin/sh\n",
                                         release: "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: \"bin/start\\n  worker: bin/work\\n'\n")
        let error = await #expect(throws: BuildpackError.self) { try await scratch.runner().release(pack) }
        #expect(error?.message.hasPrefix("quoting: bin/release printed malformed YAML (line ") == true, "\(error?.message ?? "")")
    }

    /// gigalixir-buildpack-mix's compile exports what its bin/release prints as the web command.
    @Test func binReleaseSeesWhatTheExportFilesSet() async throws {
        let scratch = try Scratch()
        let mix = try scratch.buildpack("mix", compile: "#!/bin/sh\necho 'export RUN_ARGS=\"run --no-halt\"; echo noise' > \"$(dirname \"$0\")/../export\"\n",
                                        release: "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: mix %s\\n' \"$RUN_ARGS\"\n")
        let runner = try scratch.runner()
        try await runner.compile(mix, after: [], log: LineCollector().sink)
        #expect(try await runner.release(mix).processTypes.commands == ["web": "mix run --no-halt"])
    }
}
