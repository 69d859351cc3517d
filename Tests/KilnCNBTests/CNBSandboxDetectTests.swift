import Foundation
import KilnCNB
import KilnSandbox
import KilnTestSupport
import Testing

/// Detection with real shell buildpacks, as the spec's samples are written,
/// each bin/detect run in the build sandbox with the CNB variables.
@Suite struct CNBSandboxDetectTests {
    static func buildpack(_ id: String, version: String = "0.1.0", detect: String) -> [String: String] {
        let folder = "\(CNBLayout.escaped(id))/\(version)"
        return ["\(folder)/buildpack.toml": "api = \"0.10\"\n[buildpack]\nid = \"\(id)\"\nversion = \"\(version)\"\n",
                "\(folder)/bin/detect*": "#!/bin/sh\n\(detect)\n", "\(folder)/bin/build*": "#!/bin/sh\nexit 0\n"]
    }

    @Test func shellBuildpacksDetectInTheSandboxAndTheirPlansResolve() async throws {
        let scratch = try CNBScratch("cnb-detect")
        let layout = scratch.layout
        try writeFiles(["package.json": "{}\n"], in: layout.workspace)
        try writeFiles(["env/NODE_VERSION": "20"], in: layout.platform)
        try writeFiles(Self.buildpack("samples/node", detect: """
            [ -f package.json ] || { echo "no package.json in $PWD"; exit 100; }
            echo "buildpack at $CNB_BUILDPACK_DIR, platform $CNB_PLATFORM_DIR, version $(cat "$CNB_PLATFORM_DIR/env/NODE_VERSION")"
            printf '[[provides]]\\nname = "node"\\n[[requires]]\\nname = "node"\\n[requires.metadata]\\nversion = "%s"\\n' "$(cat "$CNB_PLATFORM_DIR/env/NODE_VERSION")" > "$CNB_BUILD_PLAN_PATH"
            """).merging(Self.buildpack("samples/python", detect: "[ -f requirements.txt ] || { echo 'no requirements.txt'; exit 100; }")) { $1 }
            .merging(Self.buildpack("samples/npm", detect: "printf '[[requires]]\\nname = \"node\"\\n' > \"$CNB_BUILD_PLAN_PATH\"")) { $1 },
            in: layout.buildpacks)
        let scripts = try scratch.scripts()
        let farm = scratch.farm
        let detector = CNBDetector(resolve: { try farm.resolve($0) }, detect: { try await scripts.detect($0) })
        let order = try CNBOrder.parse("""
            [[order]]
            [[order.group]]
            id = "samples/python"
            [[order]]
            [[order.group]]
            id = "samples/node"
            [[order.group]]
            id = "samples/npm"
            version = "0.1.0"
            """, file: "order.toml")
        let detected = try await detector.run(order)
        #expect(detected.group.map(\.reference) == ["samples/node@0.1.0", "samples/npm@0.1.0"])
        #expect(detected.plan == [.init(name: "node", providers: ["samples/node@0.1.0"], requires: [.init(name: "node", metadata: ["version": "20"]), .init(name: "node")])])

        // What a group's buildpacks said when none passes.
        let none = await #expect(throws: CNBError.self) { try await detector.run(try CNBOrder.parse("[[order]]\n[[order.group]]\nid = \"samples/python\"\n", file: "order.toml")) }
        #expect(none?.message == "no group of the order passed detection:\ngroup 1 (samples/python@0.1.0): samples/python@0.1.0 (it says: no requirements.txt) did not pass")
        let missing = await #expect(throws: CNBError.self) { try await detector.run(try CNBOrder.parse("[[order]]\n[[order.group]]\nid = \"samples/ruby\"\n", file: "order.toml")) }
        #expect(missing?.message == "the farm has no buildpack samples/ruby in \(layout.buildpacks.path)")
    }

    @Test func theBuildpackSeesTheCNBVariablesAndAPlanThatIsALinkIsRefused() async throws {
        let scratch = try CNBScratch("cnb-detect")
        let layout = scratch.layout
        try writeFiles(Self.buildpack("samples/env", detect: "echo \"$CNB_BUILDPACK_DIR|$CNB_PLATFORM_DIR|$CNB_BUILD_PLAN_PATH|$PWD\"")
            .merging(Self.buildpack("samples/sneaky", detect: "ln -sf /etc/shadow \"$CNB_BUILD_PLAN_PATH\"")) { $1 }, in: layout.buildpacks)
        let scripts = try scratch.scripts()
        let farm = scratch.farm

        let run = try await scripts.detect(try farm.resolve(CNBGroupEntry(id: "samples/env")))
        #expect(run.status == 0)
        #expect(run.output == ["/cnb/buildpacks/samples_env/0.1.0|/platform|/kiln/plans/samples_env@0.1.0.toml|/workspace"])
        let error = await #expect(throws: CNBError.self) { try await scripts.detect(try farm.resolve(CNBGroupEntry(id: "samples/sneaky"))) }
        #expect(error?.message.hasPrefix("samples/sneaky@0.1.0: its build plan ") == true, "\(error?.message ?? "")")
    }
}
