import Foundation
import KilnCNB
import KilnSandbox
import KilnTestSupport
import Testing
import TOMLKit

/// Detect then build, through the sandbox: group.toml and plan.toml in the
/// layers directory, each provider's buildpack plan, and an entry one
/// provider leaves unmet going on to the next.
@Suite struct CNBLifecycleTests {
    @Test func anUnmetEntryGoesOnToTheNextProviderAndTheGroupAndPlanAreWritten() async throws {
        let scratch = try CNBScratch("cnb-lifecycle")
        let layout = scratch.layout
        func buildpack(_ id: String, detect: String, build: String) -> [String: String] {
            let folder = "\(CNBLayout.escaped(id))/1.0.0"
            return ["\(folder)/buildpack.toml": "api = \"0.10\"\n[buildpack]\nid = \"\(id)\"\nversion = \"1.0.0\"\n",
                    "\(folder)/bin/detect*": "#!/bin/sh\n\(detect)\n", "\(folder)/bin/build*": "#!/bin/sh\nset -e\n\(build)\n"]
        }
        let provides = "printf '[[provides]]\\nname = \"node\"\\n' > \"$CNB_BUILD_PLAN_PATH\""
        var files = buildpack("samples/node-cache", detect: provides, build: "echo \"node-cache gets $(grep -c '^name = \"node\"' \"$CNB_BP_PLAN_PATH\" || true)\"\nprintf '[[unmet]]\\nname = \"node\"\\n' > \"$CNB_LAYERS_DIR/build.toml\"")
        files.merge(buildpack("samples/node", detect: provides, build: "echo \"node gets $(grep -c '^name = \"node\"' \"$CNB_BP_PLAN_PATH\" || true)\"")) { $1 }
        files.merge(buildpack("samples/app", detect: "printf '[[requires]]\\nname = \"node\"\\n[requires.metadata]\\nversion = \"20\"\\n' > \"$CNB_BUILD_PLAN_PATH\"",
                              build: "echo \"app gets $(grep -c '^name = \"node\"' \"$CNB_BP_PLAN_PATH\" || true)\"")) { $1 }
        try writeFiles(files, in: layout.buildpacks)
        let scripts = try scratch.scripts()
        let farm = scratch.farm
        let lifecycle = CNBLifecycle(detector: CNBDetector(resolve: { try farm.resolve($0) }, detect: { try await scripts.detect($0) }), scripts: scripts)
        let lines = TestLines()
        let detected = try await lifecycle.detect(try CNBOrder.parse("""
            [[order]]
            [[order.group]]
            id = "samples/node-cache"
            [[order.group]]
            id = "samples/node"
            [[order.group]]
            id = "samples/app"
            """, file: "order.toml"))
        let built = try await lifecycle.build(detected) { lines.append($0) }
        #expect(detected.group.map(\.id) == ["samples/node-cache", "samples/node", "samples/app"])
        #expect(built.count == 3)
        // node-cache and then node get the node entry (node-cache left it unmet); app provides nothing and gets none.
        #expect(lines.lines.filter { !$0.hasPrefix("----->") } == ["node-cache gets 1", "node gets 1", "app gets 0"], "\(lines.lines)")

        let group = try TOMLTable(string: try String(contentsOf: layout.layers.appendingPathComponent("group.toml"), encoding: .utf8))
        #expect(group["group"]?.array?.compactMap { $0.table?["id"]?.string } == ["samples/node-cache", "samples/node", "samples/app"])
        let plan = try TOMLTable(string: try String(contentsOf: layout.layers.appendingPathComponent("plan.toml"), encoding: .utf8))
        let entry = try #require(plan["entries"]?.array?.first?.table)
        #expect(entry["providers"]?.array?.compactMap { $0.table?["id"]?.string } == ["samples/node-cache", "samples/node"])
        #expect(entry["requires"]?.array?.first?.table?["metadata"]?.table?["version"]?.string == "20")
    }
}
