import Foundation
import KilnTestSupport
import Testing

/// Cloud Native Buildpacks apps pushed to a farm with a registry: shell
/// buildpacks written here, as the spec's samples are, in the farm's
/// buildpacks directory (`--cnb-buildpacks`) and in the app itself; each
/// image pulled with skopeo, unpacked with umoci and run, answering on $PORT.
@Suite(.serialized) struct CNBBuildTests {
    /// A buildpack.toml for API 0.10.
    static func descriptor(_ id: String, _ version: String = "1.0.0", api: String = "0.10", extra: String = "") -> String {
        "api = \"\(api)\"\n\n[buildpack]\nid = \"\(id)\"\nversion = \"\(version)\"\n\(extra)"
    }

    /// `kiln-test/runtime`: provides `runtime`; one launch + build + cache
    /// layer with `bin/serve`, env for later buildpacks and for launch, and an
    /// exec.d program; it counts its builds in a cache-only layer.
    static let runtime: [String: String] = [
        "kiln-test_runtime/1.0.0/buildpack.toml": descriptor("kiln-test/runtime"),
        "kiln-test_runtime/1.0.0/bin/detect*": """
            #!/bin/sh
            printf '[[provides]]\\nname = "runtime"\\n' > "$CNB_BUILD_PLAN_PATH"
            """,
        "kiln-test_runtime/1.0.0/bin/build*": """
            #!/bin/sh
            set -e
            echo "runtime: its plan has $(grep -c '^name' "$CNB_BP_PLAN_PATH") entry"
            # The build count lives in a cache-only layer, so the launch layer stays the same from build to build.
            counter="$CNB_LAYERS_DIR/counter"
            if [ -f "$counter.toml" ] && [ -f "$counter/builds" ]; then
              n=$(cat "$counter/builds"); echo "runtime: cache layer reused after $n build(s)"
            else
              n=0; rm -rf "$counter"; mkdir -p "$counter"; echo "runtime: cache layer made"
            fi
            echo $((n + 1)) > "$counter/builds"
            printf '[types]\ncache = true\n' > "$counter.toml"
            layer="$CNB_LAYERS_DIR/runtime"
            mkdir -p "$layer/bin" "$layer/env" "$layer/env.launch" "$layer/exec.d"
            cat > "$layer/bin/serve" <<'EOF'
            #!/bin/sh
            mkdir -p /tmp/www && cp /workspace/www/* /tmp/www/
            echo "$GREETING from $RUNTIME_HOME, exec.d $EXECD, args $*" > /tmp/www/env.txt
            exec httpd -f -p "$PORT" -h /tmp/www
            EOF
            chmod +x "$layer/bin/serve"
            printf 'hello' > "$layer/env/GREETING.default"
            printf '%s' "/layers/kiln-test_runtime/runtime" > "$layer/env.launch/RUNTIME_HOME.override"
            printf '#!/bin/sh\\necho EXECD = \\\\"ran\\\\" >&3\\n' > "$layer/exec.d/mark"
            chmod +x "$layer/exec.d/mark"
            printf '[types]\\nlaunch = true\\nbuild = true\\ncache = true\\n\\n[metadata]\\nversion = "1"\\n' > "$layer.toml"
            """,
    ]

    /// An app's own buildpack (`uri = "bp/"`): requires `runtime`, sees the
    /// runtime's build layer, declares the web process and a second one.
    static let appBuildpack: [String: String] = [
        "bp/buildpack.toml": descriptor("kiln-test/app"),
        "bp/bin/detect*": """
            #!/bin/sh
            [ -d www ] || exit 100
            printf '[[requires]]\\nname = "runtime"\\n' > "$CNB_BUILD_PLAN_PATH"
            """,
        "bp/bin/build*": """
            #!/bin/sh
            set -e
            command -v serve >/dev/null || { echo "serve is not on PATH: $PATH"; exit 1; }
            echo "app: GREETING=$GREETING for the build"
            cat > "$CNB_LAYERS_DIR/launch.toml" <<'EOF'
            [[processes]]
            type = "web"
            command = ["serve"]
            args = ["default-arg"]
            default = true

            [[processes]]
            type = "hello"
            command = ["sh", "-c", "echo $GREETING"]

            [[labels]]
            key = "org.example.app"
            value = "kiln-test"
            EOF
            """,
    ]

    static let projectTOML = """
        [_]
        schema-version = "0.2"

        [[io.buildpacks.group]]
        id = "kiln-test/runtime"

        [[io.buildpacks.group]]
        uri = "bp/"

        [[io.buildpacks.build.env]]
        name = "FROM_PROJECT"
        value = "yes"
        """

    static func options(_ registry: ImageRegistry, base: String, buildpacks: URL, extra: [String] = []) -> [String] {
        ["--registry", "\(registry.host)/kiln", "--registry-insecure", "--cnb-run-image", base, "--cnb-buildpacks", buildpacks.path] + extra
    }

    static func build(_ farm: KilnFarm, _ id: String) async throws -> [String: Any] {
        let shown = try await farm.kiln("builds", "show", id, "--json")
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any], "\(shown.output)")
    }

    static func layerDigests(_ registry: ImageRegistry, _ image: String) async throws -> [String] {
        (try await registry.manifest(image)["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
    }

    @Test func aProjectTomlAppBecomesAnImageThatRunsItsProcessesAndReusesItsLayers() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase(as: "stacks/busybox:1")
            let buildpacks = try TestEnvironment.temporaryDirectory("cnb-buildpacks")
            try writeFiles(Self.runtime, in: buildpacks)
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base, buildpacks: buildpacks)) { farm in
                let key = try await farm.createApp("cnb")
                let remote = farm.remote("cnb", key: key)
                let repo = try await makeGitRepository(Self.appBuildpack.merging(["project.toml": Self.projectTOML, "www/index.html": "first\n"]) { $1 })
                let push = try await sh("git", ["push", remote, "main"], in: repo)
                #expect(push.succeeded, "\(push.output)")
                for line in ["project.toml names 2 buildpack(s): Cloud Native Buildpacks build", "project.toml: kiln-test/app@1.0.0 from the app's bp",
                             "CNB group detected: kiln-test/runtime@1.0.0, kiln-test/app@1.0.0", "runtime: cache layer made",
                             "app: GREETING=hello for the build", "runtime: its plan has 1 entry", "Build env from the app's file: FROM_PROJECT"] {
                    #expect(push.output.contains(line), "no \"\(line)\" in:\n\(push.output)")
                }
                let first = try await Self.build(farm, "b-1")
                #expect(first["state"] as? String == "succeeded", "\(first)")
                let image = try #require(first["image"] as? String)
                #expect(image.hasPrefix("\(registry.host)/kiln/cnb@sha256:"))

                // The config: the launcher as entrypoint, /workspace, the labels and the process types.
                let config = try await registry.inspect(image, config: true)["config"] as? [String: Any] ?? [:]
                #expect(config["Entrypoint"] as? [String] == ["/cnb/lifecycle/launcher"])
                #expect(config["WorkingDir"] as? String == "/workspace")
                let labels = config["Labels"] as? [String: String] ?? [:]
                #expect(labels["org.example.app"] == "kiln-test")
                #expect(labels["dev.kiln.process.web"] == "serve default-arg")
                #expect(labels["io.buildpacks.build.metadata"]?.contains("\"id\":\"kiln-test/runtime\"") == true, "\(labels)")
                #expect(labels["io.buildpacks.lifecycle.metadata"]?.contains("\"runtime\"") == true, "\(labels)")
                // Run image layers, the runtime's launch layer, the app, the launcher.
                let baseLayers = try await Self.layerDigests(registry, base)
                let layers = try await Self.layerDigests(registry, image)
                #expect(layers.count == baseLayers.count + 3, "\(layers)")

                // The default process with the launch env, the exec.d output and its default args.
                let served = try await ImageRun.serving(image, path: "/env.txt") { $0.body }
                #expect(served == "hello from /layers/kiln-test_runtime/runtime, exec.d ran, args default-arg\n")
                // A named process, through its /cnb/process link; user args replace the default ones.
                let named = try await ImageRun.serving(image, command: "/cnb/process/web given", path: "/env.txt") { $0.body }
                #expect(named.hasSuffix("args given\n"), "\(named)")

                // The release carries the image and its process types.
                let releases = try await farm.kiln("releases", "--app", "cnb", "--json")
                #expect(releases.output.contains(image), "\(releases.output)")

                // Only the app changed: the runtime layer comes from the cache and keeps its digest; only the app layer is new.
                try writeFiles(["www/index.html": "second\n"], in: repo)
                try await sh("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "second"], in: repo)
                let second = try await sh("git", ["push", remote, "main"], in: repo)
                #expect(second.succeeded, "\(second.output)")
                #expect(second.output.contains("runtime: cache layer reused after 1 build(s)"), "\(second.output)")
                #expect(second.output.contains("Layers restored from this worker's cache:"), "\(second.output)")
                #expect(second.output.contains("(3 layers on \(base), 2 reused)"), "\(second.output)")
                let rebuilt = try #require(try await Self.build(farm, "b-2")["image"] as? String)
                let rebuiltLayers = try await Self.layerDigests(registry, rebuilt)
                #expect(rebuiltLayers.count == layers.count)
                #expect(Array(rebuiltLayers.prefix(baseLayers.count + 1)) == Array(layers.prefix(baseLayers.count + 1)), "the runtime layer changed")
                #expect(rebuiltLayers[baseLayers.count + 1] != layers[baseLayers.count + 1], "the app layer did not change")
                #expect(rebuiltLayers.last == layers.last, "the launcher layer changed")
                #expect(try await ImageRun.serving(rebuilt) { $0.body } == "second\n")

                // KILN-CLEAN: true starts cold.
                try await sh("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "clean"], in: repo)
                let clean = try await sh("git", ["-c", "http.extraheader=KILN-CLEAN: true", "push", remote, "main"], in: repo)
                #expect(clean.succeeded, "\(clean.output)")
                #expect(clean.output.contains("runtime: cache layer made"), "\(clean.output)")
                #expect(clean.output.contains("KILN-CLEAN: no layer restored"), "\(clean.output)")
            }
        }
    }
}

extension CNBBuildTests {
    /// A composite (`kiln-test/site`) of the runtime, an optional buildpack
    /// that never passes, and one that keeps a launch layer without
    /// rebuilding it: on the second build it writes only its toml, and the
    /// image keeps the previous image's layer.
    static let composite: [String: String] = runtime.merging([
        "kiln-test_site/2.0.0/buildpack.toml": descriptor("kiln-test/site", "2.0.0", extra: """

            [[order]]
            [[order.group]]
            id = "kiln-test/runtime"
            version = "1.0.0"

            [[order.group]]
            id = "kiln-test/never"
            optional = true

            [[order.group]]
            id = "kiln-test/keeper"
            """),
        "kiln-test_never/0.1.0/buildpack.toml": descriptor("kiln-test/never", "0.1.0"),
        "kiln-test_never/0.1.0/bin/detect*": "#!/bin/sh\necho never passes\nexit 100\n",
        "kiln-test_never/0.1.0/bin/build*": "#!/bin/sh\nexit 1\n",
        "kiln-test_keeper/1.0.0/buildpack.toml": descriptor("kiln-test/keeper"),
        "kiln-test_keeper/1.0.0/bin/detect*": """
            #!/bin/sh
            [ -d www ] || exit 100
            printf '[[requires]]\\nname = "runtime"\\n' > "$CNB_BUILD_PLAN_PATH"
            """,
        "kiln-test_keeper/1.0.0/bin/build*": """
            #!/bin/sh
            set -e
            site="$CNB_LAYERS_DIR/site"
            if [ -f "$site.toml" ]; then
              # Restored as the spec says: the metadata, not the types, and no directory.
              grep -q '^\\[types\\]' "$site.toml" && echo "keeper: the restored toml still has its types"
              grep -q 'made = .first.' "$site.toml" && [ ! -d "$site" ] && echo "keeper: metadata restored without types or contents"
              printf '[types]\\nlaunch = true\\n[metadata]\\nmade = "first"\\n' > "$site.toml"
              echo "keeper: the site layer is kept from the previous image"
            else
              mkdir -p "$site" && cp -r www/. "$site/"
              printf '[types]\\nlaunch = true\\n[metadata]\\nmade = "first"\\n' > "$site.toml"
              echo "keeper: the site layer is made"
            fi
            printf '[[processes]]\\ntype = "web"\\ncommand = ["sh", "-c", "mkdir -p /tmp/www && cp /layers/kiln-test_keeper/site/* /tmp/www/ && exec httpd -f -p $PORT -h /tmp/www"]\\ndefault = true\\n' > "$CNB_LAYERS_DIR/launch.toml"
            """,
    ]) { $1 }

    @Test func aPaaSTechBuilderWithACompositeKeepsALaunchLayerAndTheFarmOrderFallsBackToClassic() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase(as: "stacks/busybox:1")
            let buildpacks = try TestEnvironment.temporaryDirectory("cnb-buildpacks")
            try writeFiles(Self.composite, in: buildpacks)
            let orders = try TestEnvironment.temporaryDirectory("cnb-orders")
            // The farm's order asks for a file no classic app has: apps without it fall back to the built-in builders.
            try writeFiles([
                "site.toml": "[[order]]\n[[order.group]]\nid = \"kiln-test/site\"\n",
                "farm.toml": "[[order]]\n[[order.group]]\nid = \"kiln-test/site\"\n",
            ], in: orders)
            let options = Self.options(registry, base: base, buildpacks: buildpacks, extra: [
                "--cnb-builder", "example/site-builder:1=\(orders.appendingPathComponent("site.toml").path)",
                "--cnb-order", orders.appendingPathComponent("farm.toml").path,
            ])
            try await KilnFarm.with(workers: 1, options: options) { farm in
                let key = try await farm.createApp("paas")
                let remote = farm.remote("paas", key: key)
                let yaml = "buildpacks:\n  path: \"site\"\n  builder: \"example/site-builder:1\"\n  env:\n    - \"GREETING=bonjour\"\n"
                let repo = try await makeGitRepository(["paastech/buildpacks.yaml": yaml, "site/www/index.html": "v1\n", "other/ignored.txt": "x\n"])
                let push = try await sh("git", ["push", remote, "main"], in: repo)
                #expect(push.succeeded, "\(push.output)")
                for line in ["paastech/buildpacks.yaml asks for builder example/site-builder:1", "builder example/site-builder:1, 1 group(s)",
                             "CNB group detected: kiln-test/runtime@1.0.0, kiln-test/keeper@1.0.0", "keeper: the site layer is made",
                             "Build env from the app's file: GREETING"] {
                    #expect(push.output.contains(line), "no \"\(line)\" in:\n\(push.output)")
                }
                let first = try #require(try await Self.build(farm, "b-1")["image"] as? String)
                #expect(try await ImageRun.serving(first) { $0.body } == "v1\n")
                // Only `path` is the app: the image's /workspace has site/'s files, not other/.
                let listed = try await ImageRun.serving(first, command: "ls /workspace > /tmp/ls; mkdir -p /tmp/w && cp /tmp/ls /tmp/w/ls && exec httpd -f -p $PORT -h /tmp/w", path: "/ls") { $0.body }
                #expect(listed == "www\n", "\(listed)")

                // The keeper writes only its toml now: the site layer is the first image's, by digest.
                try writeFiles(["site/www/index.html": "v2\n"], in: repo)
                try await sh("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "v2"], in: repo)
                let second = try await sh("git", ["push", remote, "main"], in: repo)
                #expect(second.succeeded, "\(second.output)")
                #expect(second.output.contains("keeper: the site layer is kept from the previous image"), "\(second.output)")
                #expect(second.output.contains("keeper: metadata restored without types or contents"), "\(second.output)")
                #expect(!second.output.contains("still has its types"), "\(second.output)")
                let rebuilt = try #require(try await Self.build(farm, "b-2")["image"] as? String)
                let firstLayers = try await Self.layerDigests(registry, first), rebuiltLayers = try await Self.layerDigests(registry, rebuilt)
                let baseCount = try await Self.layerDigests(registry, base).count
                #expect(firstLayers.count == baseCount + 4 && rebuiltLayers.count == firstLayers.count, "\(firstLayers) \(rebuiltLayers)")
                #expect(rebuiltLayers[baseCount + 1] == firstLayers[baseCount + 1], "the kept site layer is not the previous one")
                #expect(try await ImageRun.serving(rebuilt) { $0.body } == "v1\n", "the kept layer serves what it held")

                // No CNB file and no classic buildpack named: the farm's order first, then the built-in builders.
                let classicKey = try await farm.createApp("classic")
                let classic = try await makeGitRepository(["index.html": "static\n"])
                let fallBack = try await sh("git", ["push", farm.remote("classic", key: classicKey), "main"], in: classic)
                #expect(fallBack.succeeded, "\(fallBack.output)")
                let fallBackLog = try await farm.kiln("logs", "b-3").output
                #expect(fallBackLog.contains("the app names no buildpack: trying the farm's CNB order first"), "\(fallBackLog)")
                #expect(fallBack.output.contains("the app names no buildpack: trying the farm's CNB order first"), "\(fallBack.output)")
                #expect(fallBack.output.contains("The farm's CNB order passed no group; building with the classic buildpacks"), "\(fallBack.output)")
                #expect(fallBack.output.contains("Static (index.html) app detected by the built-in static builder"), "\(fallBack.output)")
            }
        }
    }

    @Test func badCNBInputIsRefusedByName() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase(as: "stacks/busybox:1")
            let buildpacks = try TestEnvironment.temporaryDirectory("cnb-buildpacks")
            try writeFiles(Self.runtime.merging([
                "kiln-test_old/1.0.0/buildpack.toml": Self.descriptor("kiln-test/old", api: "0.7"),
                "kiln-test_old/1.0.0/bin/detect*": "#!/bin/sh\nexit 0\n",
                "kiln-test_old/1.0.0/bin/build*": "#!/bin/sh\nexit 0\n",
                "kiln-test_liar/1.0.0/buildpack.toml": Self.descriptor("kiln-test/liar"),
                "kiln-test_liar/1.0.0/bin/detect*": "#!/bin/sh\nexit 0\n",
                "kiln-test_liar/1.0.0/bin/build*": "#!/bin/sh\nmkdir -p \"$CNB_LAYERS_DIR/tool\"\nprintf '[types]\\nlaunch = \"yes\"\\n' > \"$CNB_LAYERS_DIR/tool.toml\"\n",
                "kiln-test_picky/1.0.0/buildpack.toml": Self.descriptor("kiln-test/picky"),
                "kiln-test_picky/1.0.0/bin/detect*": "#!/bin/sh\necho \"picky: no picky.txt here\"\nexit 100\n",
                "kiln-test_picky/1.0.0/bin/build*": "#!/bin/sh\nexit 0\n",
            ]) { $1 }, in: buildpacks)
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base, buildpacks: buildpacks)) { farm in
                func refused(_ app: String, _ files: [String: String], links: [String: String] = [:]) async throws -> String {
                    let key = try await farm.createApp(app)
                    let repo = try await makeGitRepository(files, links: links)
                    let push = try await sh("git", ["push", farm.remote(app, key: key), "main"], in: repo)
                    #expect(!push.succeeded, "\(app) was built:\n\(push.output)")
                    return push.output
                }
                func group(_ ids: String...) -> String {
                    "[_]\nschema-version = \"0.2\"\n" + ids.map { "[[io.buildpacks.group]]\nid = \"\($0)\"\n" }.joined()
                }
                let malformed = try await refused("malformed", ["project.toml": "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]\nid = 1\n"])
                #expect(malformed.contains("project.toml") && malformed.contains("line 3"), "\(malformed)")
                let old = try await refused("old", ["project.toml": group("kiln-test/old")])
                #expect(old.contains("kiln-test/old@1.0.0 is written to Buildpack API 0.7; Kiln implements 0.9, 0.10, 0.11"), "\(old)")
                let picky = try await refused("picky", ["project.toml": group("kiln-test/picky")])
                #expect(picky.contains("group 1 (kiln-test/picky@1.0.0): kiln-test/picky@1.0.0 (it says: picky: no picky.txt here) did not pass"), "\(picky)")
                let liar = try await refused("liar", ["project.toml": group("kiln-test/liar")])
                #expect(liar.contains("kiln-test/liar@1.0.0: tool.toml: [types] launch must be true or false, not \"yes\""), "\(liar)")
                let missing = try await refused("missing", ["project.toml": group("kiln-test/absent")])
                #expect(missing.contains("the farm has no buildpack kiln-test/absent"), "\(missing)")
                let outside = try await refused("outside", ["project.toml": "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"../../etc\"\n"])
                #expect(outside.contains("uri \"../../etc\""), "\(outside)")
                // The app's buildpack directory is a link (out of the app: the fetch refuses it; within: the copy does).
                let absolute = try await refused("absolute", ["project.toml": "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"bp\"\n"], links: ["bp": "/etc"])
                #expect(absolute.contains("bp is a symbolic link to the absolute path /etc"), "\(absolute)")
                let key = try await farm.createApp("linked")
                let repo = try await makeGitRepository(Self.appBuildpack.merging(["project.toml": "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"link\"\n"]) { $1 },
                                                       links: ["link": "bp"])
                let linked = try await sh("git", ["push", farm.remote("linked", key: key), "main"], in: repo)
                #expect(!linked.succeeded && linked.output.contains("the buildpack at link in the app cannot be used"), "\(linked.output)")
            }
        }
    }
}

extension CNBBuildTests {
    /// Pushes the runtime buildpack to the registry as a buildpackage, as
    /// `pack buildpack package` lays one out: `/cnb/buildpacks/ID/VERSION`
    /// and the io.buildpacks.buildpackage.metadata label.
    static func pushBuildpackage(_ registry: ImageRegistry, as name: String) async throws -> String {
        let reference = "\(registry.host)/\(name)"
        let work = try TestEnvironment.temporaryDirectory("buildpackage")
        try writeFiles(runtime, in: work.appendingPathComponent("bp"))
        let script = """
            set -e
            store="--storage-driver vfs --root \(work.path)/storage --runroot \(work.path)/run"
            c=$(buildah $store from scratch)
            m=$(buildah $store mount "$c")
            mkdir -p "$m/cnb/buildpacks"
            cp -a "\(work.path)/bp/kiln-test_runtime" "$m/cnb/buildpacks/"
            buildah $store config --label 'io.buildpacks.buildpackage.metadata={"id":"kiln-test/runtime","version":"1.0.0"}' "$c"
            buildah $store commit --quiet --format oci --timestamp 0 "$c" "\(reference)" >/dev/null
            buildah $store push --quiet --tls-verify=false "\(reference)" "docker://\(reference)"
            """
        let outcome = try await sh("sh", ["-c", script])
        guard outcome.succeeded else { throw TestSetupError("cannot push the buildpackage: \(outcome.output)") }
        return reference
    }

    @Test func aBuildpackageFromTheFarmsRegistryBuildsAndOneFromElsewhereIsRefused() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase(as: "stacks/busybox:1")
            let package = try await Self.pushBuildpackage(registry, as: "buildpacks/runtime:1")
            let farmBuildpacks = try TestEnvironment.temporaryDirectory("cnb-buildpacks")
            try await KilnFarm.with(workers: 1, options: Self.options(registry, base: base, buildpacks: farmBuildpacks)) { farm in
                let project = { (uri: String) in "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"\(uri)\"\n[[io.buildpacks.group]]\nuri = \"bp/\"\n" }
                let key = try await farm.createApp("packaged")
                let repo = try await makeGitRepository(Self.appBuildpack.merging(["project.toml": project("docker://\(package)"), "www/index.html": "packaged\n"]) { $1 })
                let push = try await sh("git", ["push", farm.remote("packaged", key: key), "main"], in: repo)
                #expect(push.succeeded, "\(push.output)")
                #expect(push.output.contains("project.toml: kiln-test/runtime@1.0.0 from the buildpackage \(package)"), "\(push.output)")
                let image = try #require(try await Self.build(farm, "b-1")["image"] as? String)
                #expect(try await ImageRun.serving(image) { $0.body } == "packaged\n")

                // Another registry than the farm's: refused by name, never pulled.
                let otherKey = try await farm.createApp("elsewhere")
                let other = try await makeGitRepository(Self.appBuildpack.merging(["project.toml": project("docker://registry.example.com/buildpacks/runtime:1"), "www/index.html": "x\n"]) { $1 })
                let refused = try await sh("git", ["push", farm.remote("elsewhere", key: otherKey), "main"], in: other)
                #expect(!refused.succeeded && refused.output.contains("the buildpackage registry.example.com/buildpacks/runtime:1 is not in the farm's registry \(registry.host)"), "\(refused.output)")
            }
        }
    }
}
