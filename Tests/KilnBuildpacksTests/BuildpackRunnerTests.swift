import Foundation
import KilnBuildpacks
import KilnTestSupport
import Synchronization
import Testing

/// Collects log lines from concurrent writers.
final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])
    var lines: [String] { storage.withLock { $0 } }
    var sink: @Sendable (String) async throws -> Void { { line in self.storage.withLock { $0.append(line) } } }
}

@Suite struct BuildpackRunnerTests {
    func buildpack(_ name: String, compile: String, detect: String = "#!/bin/sh\necho Test\n", release: String? = nil, in directory: URL) throws -> Buildpack {
        var files = ["bin/detect*": detect, "bin/compile*": compile]
        if let release { files["bin/release*"] = release }
        let root = directory.appendingPathComponent(name)
        try writeFiles(files, in: root)
        return Buildpack(reference: name, directory: root)
    }

    @Test func compileGetsTheHerokuArgumentsAndExportsChainToTheNextBuildpack() async throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let app = scratch.appendingPathComponent("app"), cache = scratch.appendingPathComponent("cache"), env = scratch.appendingPathComponent("env")
        for directory in [app, cache, env] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        try "secret-value".write(to: env.appendingPathComponent("DATABASE_URL"), atomically: true, encoding: .utf8)

        let first = try buildpack("first", compile: """
            #!/bin/sh
            set -e
            echo "-----> first: build=$1 cache=$2 env=$3"
            echo "db=$(cat "$3/DATABASE_URL")"
            echo "stack=$STACK version=$SOURCE_VERSION"
            echo "worker-secret=${KILN_DATABASE_URL:-unset}"
            echo built > "$1/from-first"
            echo "export TOOL_HOME=/opt/first-tool" > "$(dirname "$0")/../export"
            """, in: scratch)
        let second = try buildpack("second", compile: """
            #!/bin/sh
            echo "-----> second sees TOOL_HOME=$TOOL_HOME and $(cat "$1/from-first")"
            echo "to stderr" >&2
            """, release: "#!/bin/sh\necho '---'\necho 'default_process_types:'\necho '  web: ./serve'\n", in: scratch)

        let runner = BuildpackRunner(sourceVersion: "abc123")
        #expect(try await runner.detect(first, buildDirectory: app) == "Test")
        let collector = LineCollector()
        try await runner.compile(first, buildDirectory: app, cacheDirectory: cache, envDirectory: env, exports: [], log: collector.sink)
        let export = try #require(runner.exportFile(of: first))
        try await runner.compile(second, buildDirectory: app, cacheDirectory: cache, envDirectory: env, exports: [export], log: collector.sink)
        #expect(try await runner.release(second, buildDirectory: app).commands == ["web": "./serve"])

        let lines = collector.lines
        #expect(lines.contains("-----> first: build=\(app.path) cache=\(cache.path) env=\(env.path)"))
        #expect(lines.contains("db=secret-value"))
        #expect(lines.contains("stack=heroku-22 version=abc123"))
        #expect(lines.contains("worker-secret=unset"))
        #expect(lines.contains("-----> second sees TOOL_HOME=/opt/first-tool and built"))
        #expect(lines.contains("to stderr"))
    }

    @Test func aFailingCompileNamesTheBuildpackAndItsStatus() async throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let app = scratch.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        let failing = try buildpack("broken", compile: "#!/bin/sh\necho 'mix.lock is missing'\nexit 3\n", in: scratch)
        let collector = LineCollector()
        let error = await #expect(throws: BuildpackError.self) {
            try await BuildpackRunner(sourceVersion: "x").compile(failing, buildDirectory: app, cacheDirectory: app, envDirectory: app, exports: [], log: collector.sink)
        }
        #expect(error?.message == "broken: bin/compile exited 3")
        #expect(collector.lines == ["mix.lock is missing"])
    }

    @Test func detectDecliningReturnsNil() async throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let pack = try buildpack("picky", compile: "#!/bin/sh\n", detect: "#!/bin/sh\n[ -f \"$1/mix.exs\" ] && echo Elixir\n", in: scratch)
        #expect(try await BuildpackRunner(sourceVersion: "x").detect(pack, buildDirectory: scratch) == nil)
    }
}
