import Foundation
import KilnCNB
import Testing

/// buildpack.toml, order.toml and build plans as buildpacks write them; bad ones refused by name.
@Suite struct CNBDescriptorTests {
    @Test func aComponentAndACompositeBuildpackAreRead() throws {
        let component = try CNBBuildpackDescriptor.parse("""
            api = "0.10"
            [buildpack]
            id = "samples/hello-world"
            version = "0.0.1"
            name = "Hello World Buildpack"
            [[targets]]
            os = "linux"
            """)
        #expect(component.reference == "samples/hello-world@0.0.1" && component.name == "Hello World Buildpack" && component.order == nil)
        let composite = try CNBBuildpackDescriptor.parse("""
            api = "0.9"
            [buildpack]
            id = "paketo-buildpacks/web-servers"
            version = "0.1.0"
            [[order]]
              [[order.group]]
              id = "paketo-buildpacks/nginx"
              version = "1.0.0"
              [[order.group]]
              id = "paketo-buildpacks/procfile"
              optional = true
            """)
        #expect(composite.order?.groups == [[CNBGroupEntry(id: "paketo-buildpacks/nginx", version: "1.0.0"), CNBGroupEntry(id: "paketo-buildpacks/procfile", optional: true)]])
    }

    @Test func badDescriptorsAreRefusedByName() {
        for (text, message) in [
            ("api = \"0.7\"\n[buildpack]\nid = \"old\"\nversion = \"1\"\n", "old@1 is written to Buildpack API 0.7; Kiln implements 0.9, 0.10, 0.11"),
            ("[buildpack]\nid = \"x\"\nversion = \"1\"\n", "buildpack.toml has no api (the Buildpack API it is written to, e.g. api = \"0.10\")"),
            ("api = \"0.10\"\n[buildpack]\nversion = \"1\"\n", "buildpack.toml: [buildpack] has no id"),
            ("api = 0.10\n", "buildpack.toml: api must be a string"),
            ("api = \"0.10\"\n[[order]]\n", "buildpack.toml has no [buildpack] table"),
        ] {
            let error = #expect(throws: CNBError.self) { try CNBBuildpackDescriptor.parse(text) }
            #expect(error?.message == message)
        }
        let malformed = #expect(throws: CNBError.self) { try CNBBuildpackDescriptor.parse("api = \"0.10\"\n[buildpack\nid = 1\n") }
        #expect(malformed?.message.hasPrefix("buildpack.toml is not valid TOML (line 2): ") == true, "\(malformed?.message ?? "")")
    }

    @Test func aBuildPlanWithAlternativesIsRead() throws {
        let plan = try CNBBuildPlan.parse("""
            [[provides]]
            name = "node"
            [[requires]]
            name = "node"
            [requires.metadata]
            version = "20.x"
            [[or]]
            [[or.requires]]
            name = "node"
            """, file: "plan.toml")
        #expect(plan.alternatives == [
            .init(provides: ["node"], requires: [.init(name: "node", metadata: ["version": "20.x"])]),
            .init(requires: [.init(name: "node")]),
        ])
        #expect(try CNBBuildPlan.parse("", file: "plan.toml").alternatives == [.init()])
        let error = #expect(throws: CNBError.self) { try CNBBuildPlan.parse("[[provides]]\nversion = \"1\"\n", file: "hello's plan") }
        #expect(error?.message == "hello's plan: a [[provides]] has no name")
    }
}
