import Foundation
import KilnCNB
import KilnSandbox
import KilnTestSupport
import Testing

/// bin/build with real shell buildpacks in the sandbox: the plan it gets,
/// a build layer whose bin/ and env a later buildpack uses, its layers and
/// launch.toml read back.
@Suite struct CNBSandboxBuildTests {
    final class Log: Sendable {
        let collected = TestLines()
        var sink: @Sendable (String) async throws -> Void { { [collected] in collected.append($0) } }
    }

    @Test func aLaterBuildpackSeesAnEarlierOnesBuildLayerAndItsLayersAreRead() async throws {
        let scratch = try CNBScratch("cnb-build")
        let layout = scratch.layout
        let toml = { (id: String) in "api = \"0.10\"\n[buildpack]\nid = \"\(id)\"\nversion = \"1.0.0\"\n" }
        try writeFiles([
            "samples_node/1.0.0/buildpack.toml": toml("samples/node"),
            "samples_node/1.0.0/bin/detect*": "#!/bin/sh\n",
            "samples_node/1.0.0/bin/build*": """
                #!/bin/sh
                set -e
                echo "plan: $(tr '\\n' ' ' < "$CNB_BP_PLAN_PATH")"
                layer="$CNB_LAYERS_DIR/node"
                mkdir -p "$layer/bin" "$layer/env"
                printf '#!/bin/sh\\necho hello from the node layer\\n' > "$layer/bin/hello" && chmod +x "$layer/bin/hello"
                printf 'production' > "$layer/env/NODE_ENV.override"
                printf '[types]\\nbuild = true\\nlaunch = true\\ncache = true\\n[metadata]\\nversion = "20.1.0"\\n' > "$layer/../node.toml"
                """,
            "samples_app/1.0.0/buildpack.toml": toml("samples/app"),
            "samples_app/1.0.0/bin/detect*": "#!/bin/sh\n",
            "samples_app/1.0.0/bin/build*": """
                #!/bin/sh
                set -e
                hello
                echo "NODE_ENV=$NODE_ENV"
                printf '[[processes]]\\ntype = "web"\\ncommand = ["node", "server.js"]\\ndefault = true\\n' > "$CNB_LAYERS_DIR/launch.toml"
                """,
            "samples_fails/1.0.0/buildpack.toml": toml("samples/fails"),
            "samples_fails/1.0.0/bin/detect*": "#!/bin/sh\n",
            "samples_fails/1.0.0/bin/build*": "#!/bin/sh\necho 'cannot find node'\nexit 3\n",
        ], in: layout.buildpacks)
        let scripts = try scratch.scripts()
        let farm = scratch.farm
        let log = Log()

        let node = try await scripts.build(try farm.resolve(CNBGroupEntry(id: "samples/node")), plan: [.init(name: "node", metadata: ["version": "20.x \"lts\""])],
                                           after: [], log: log.sink)
        #expect(log.collected.lines.contains(#"plan: [[entries]] name = "node" [entries.metadata] "version" = "20.x \"lts\"" "#), "\(log.collected.lines)")
        #expect(node.layers.layers.map(\.name) == ["node"])
        #expect(node.layers.layers.first?.outcome == .provided(.init(launch: true, build: true, cache: true)))
        #expect(node.buildLayers.map(\.path) == ["/layers/samples_node/node"])

        let app = try await scripts.build(try farm.resolve(CNBGroupEntry(id: "samples/app")), plan: [], after: [node], log: log.sink)
        #expect(log.collected.lines.contains("hello from the node layer"), "\(log.collected.lines)")
        #expect(log.collected.lines.contains("NODE_ENV=production"), "\(log.collected.lines)")
        #expect(app.layers.launch?.processes.map(\.type) == ["web"])

        let error = await #expect(throws: CNBError.self) {
            try await scripts.build(try farm.resolve(CNBGroupEntry(id: "samples/fails")), plan: [], after: [node, app], log: log.sink)
        }
        #expect(error?.message == "samples/fails@1.0.0: bin/build exited 3; its last lines:\ncannot find node")
    }
}
