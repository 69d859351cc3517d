import Foundation
@testable import KilnCNB
import KilnSandbox
import KilnTestSupport
import Testing

/// What the exporter takes from a group's bin/build runs, with real shell
/// buildpacks in the sandbox: the launch layers, the launch file the
/// launcher reads, the processes and labels; an ignored layer renamed.
@Suite struct CNBExportPlanTests {
    static func toml(_ id: String) -> String { "api = \"0.10\"\n[buildpack]\nid = \"\(id)\"\nversion = \"1.0.0\"\n" }

    @Test func launchLayersEnvAndExecDMakeTheLaunchFileAndAnIgnoredLayerIsRenamed() async throws {
        let scratch = try CNBScratch("cnb-export-plan")
        try writeFiles([
            "samples_node/1.0.0/buildpack.toml": Self.toml("samples/node"),
            "samples_node/1.0.0/bin/detect*": "#!/bin/sh\n",
            "samples_node/1.0.0/bin/build*": """
                #!/bin/sh
                set -e
                layer="$CNB_LAYERS_DIR/node"
                mkdir -p "$layer/bin" "$layer/env.launch/web" "$layer/exec.d/web" "$CNB_LAYERS_DIR/scratch"
                printf 'production' > "$layer/env.launch/NODE_ENV.override"
                printf 'on' > "$layer/env.launch/web/WEB_ONLY.override"
                printf '#!/bin/sh\\n' > "$layer/exec.d/web/hook" && chmod +x "$layer/exec.d/web/hook"
                printf '[types]\\nlaunch = true\\n[metadata]\\nversion = "20"\\n' > "$CNB_LAYERS_DIR/node.toml"
                printf '[types]\\n' > "$CNB_LAYERS_DIR/scratch.toml"
                cat > "$CNB_LAYERS_DIR/launch.toml" <<'TOML'
                [[processes]]
                type = "web"
                command = ["node", "server.js"]
                args = ["--port", "$PORT"]
                default = true
                [[processes]]
                type = "worker"
                command = ["node"]
                args = ["worker.js"]
                working-dir = "jobs"
                [[labels]]
                key = "org.example.team"
                value = "web"
                TOML
                """,
        ], in: scratch.layout.buildpacks)
        let scripts = try scratch.scripts()
        let built = try await scripts.build(try scratch.farm.resolve(CNBGroupEntry(id: "samples/node")), plan: [], after: []) { _ in }
        // The layer of no type is out of the way of later buildpacks.
        #expect(FileManager.default.fileExists(atPath: scratch.layout.layers.appendingPathComponent("samples_node/scratch.ignore").path))
        #expect(!FileManager.default.fileExists(atPath: scratch.layout.layers.appendingPathComponent("samples_node/scratch").path))

        let plan = try CNBExportPlan.make([built], layersDirectory: scratch.layout.layers, baseEnvironment: ["PATH": "/usr/bin:/bin"])
        #expect(plan.layers.map(\.inside) == ["/layers/samples_node/node"])
        #expect(plan.defaultType == "web")
        #expect(plan.labels == ["org.example.team": "web"])
        #expect(plan.processTypes == ["web": "node server.js --port '$PORT'", "worker": "node worker.js"])
        #expect(plan.launchFile == """
            kiln-launch 1
            process web
            command node
            command server.js
            arg --port
            arg $PORT
            env web NODE_ENV=production
            env web PATH=/layers/samples_node/node/bin:/usr/bin:/bin
            env web WEB_ONLY=on
            process worker
            command node
            arg worker.js
            directory jobs
            env worker NODE_ENV=production
            env worker PATH=/layers/samples_node/node/bin:/usr/bin:/bin
            command-env NODE_ENV=production
            command-env PATH=/layers/samples_node/node/bin:/usr/bin:/bin
            default web
            execd /layers/samples_node/node/exec.d
            process-execd web /layers/samples_node/node/exec.d/web

            """)
    }

    @Test func aValueTheLaunchFileCannotCarryIsRefusedByName() throws {
        let scratch = try CNBScratch("cnb-export-newline")
        let launch = CNBLaunchMetadata(processes: [.init(type: "web", command: ["sh", "-c", "echo one\necho two"], isDefault: true)])
        let built = CNBBuilt(buildpack: try CNBBuildpackDescriptor.parse(Self.toml("samples/x")), layers: CNBBuildpackLayers(layers: [], launch: launch), buildLayers: [])
        let error = #expect(throws: CNBError.self) { try CNBExportPlan.make([built], layersDirectory: scratch.layout.layers, baseEnvironment: [:]) }
        #expect(error?.message.hasPrefix("the command of process web holds a newline or NUL byte") == true, "\(error?.message ?? "")")
    }
}

/// project.toml's include and exclude, in gitignore's pattern syntax.
@Suite struct CNBSourceFilterTests {
    @Test func excludeAndIncludePatterns() throws {
        let exclude = try CNBSourceFilter(.exclude, patterns: ["README.md", "bash-script-buildpack", "*.log", "/docs/", "# a comment", ""], file: "project.toml")
        #expect(exclude.verdict("README.md", isDirectory: false) == .remove)
        #expect(exclude.verdict("lib/README.md", isDirectory: false) == .remove, "a pattern without / matches at any depth")
        #expect(exclude.verdict("bash-script-buildpack", isDirectory: true) == .remove)
        #expect(exclude.verdict("logs/today.log", isDirectory: false) == .remove)
        #expect(exclude.verdict("docs", isDirectory: true) == .remove)
        #expect(exclude.verdict("docs", isDirectory: false) == .keep, "a trailing / matches directories only")
        #expect(exclude.verdict("lib/docs", isDirectory: true) == .descend, "a leading / anchors at the root")
        #expect(exclude.verdict("app.sh", isDirectory: false) == .keep)

        #expect(exclude.verdict("lib", isDirectory: true) == .descend, "exclude looks into directories it keeps")
        let deep = try CNBSourceFilter(.exclude, patterns: ["*.env", "/config/secrets.yml", "**/cache"], file: "project.toml")
        #expect(deep.verdict("lib/x.env", isDirectory: false) == .remove)
        #expect(deep.verdict("config/secrets.yml", isDirectory: false) == .remove)
        #expect(deep.verdict("cache", isDirectory: true) == .remove, "**/ matches no directory too")
        #expect(deep.verdict("a/b/cache", isDirectory: true) == .remove)

        let include = try CNBSourceFilter(.include, patterns: ["src/**/*.go", "go.mod"], file: "project.toml")
        #expect(include.verdict("src/main.go", isDirectory: false) == .keep, "src/**/*.go matches src/main.go")
        #expect(include.verdict("go.mod", isDirectory: false) == .keep)
        #expect(include.verdict("src", isDirectory: true) == .descend)
        #expect(include.verdict("src/cmd/main.go", isDirectory: false) == .keep)
        #expect(include.verdict("README.md", isDirectory: false) == .remove)

        let negated = #expect(throws: CNBError.self) { try CNBSourceFilter(.exclude, patterns: ["!keep.txt"], file: "project.toml exclude") }
        #expect(negated?.message == "project.toml exclude: \"!keep.txt\" re-includes files with !, which Kiln does not support: list only what to exclude")
    }
}
