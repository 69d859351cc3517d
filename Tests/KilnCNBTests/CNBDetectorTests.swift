import Foundation
import KilnCNB
import Testing

/// Order resolution as the CNB buildpack spec defines it, with bin/detect
/// given as what each buildpack would answer.
@Suite struct CNBDetectorTests {
    /// A farm of buildpacks by id, each answering detect with a status and a plan.
    struct Farm: Sendable {
        var buildpacks: [String: CNBBuildpackDescriptor] = [:]
        var answers: [String: CNBDetectRun] = [:]

        mutating func component(_ id: String, status: Int32 = 0, plan: String = "") throws {
            buildpacks[id] = CNBBuildpackDescriptor(api: "0.10", id: id, version: "1.0.0")
            answers[id] = CNBDetectRun(status: status, plan: try CNBBuildPlan.parse(plan, file: "\(id) plan"), output: ["\(id) says \(status)"])
        }

        func detector(counting runs: TestLines? = nil) -> CNBDetector {
            let buildpacks = buildpacks, answers = answers
            return CNBDetector(resolve: { entry in
                guard let found = buildpacks[entry.id] else { throw CNBError("no buildpack \(entry.id)") }
                return found
            }, detect: { buildpack in
                runs?.append(buildpack.id)
                return answers[buildpack.id]!
            })
        }
    }

    func order(_ text: String) throws -> CNBOrder { try CNBOrder.parse(text, file: "order.toml") }

    @Test func theFirstPassingGroupBuildsAndOptionalMembersThatFailAreLeftOut() async throws {
        var farm = Farm()
        try farm.component("node", status: 100)
        try farm.component("python")
        try farm.component("procfile")
        try farm.component("extras", status: 100)
        let runs = TestLines()
        let detected = try await farm.detector(counting: runs).run(try order("""
            [[order]]
            [[order.group]]
            id = "node"
            [[order.group]]
            id = "procfile"
            [[order]]
            [[order.group]]
            id = "python"
            [[order.group]]
            id = "extras"
            optional = true
            [[order.group]]
            id = "procfile"
            """))
        #expect(detected.group.map(\.id) == ["python", "procfile"])
        // procfile's bin/detect ran once, though two groups name it.
        #expect(runs.lines.sorted() == ["extras", "node", "procfile", "python"])
    }

    @Test func aCompositesOrderExpandsInPlaceAndItsOptionalMembersMayBeDropped() async throws {
        var farm = Farm()
        try farm.component("go", status: 100)
        try farm.component("nginx")
        try farm.component("php-extras", status: 100)
        farm.buildpacks["web-servers"] = try CNBBuildpackDescriptor.parse("""
            api = "0.10"
            [buildpack]
            id = "web-servers"
            version = "0.1.0"
            [[order]]
            [[order.group]]
            id = "go"
            [[order]]
            [[order.group]]
            id = "nginx"
            [[order.group]]
            id = "php-extras"
            optional = true
            """)
        let detected = try await farm.detector().run(try order("[[order]]\n[[order.group]]\nid = \"web-servers\"\n"))
        #expect(detected.group.map(\.id) == ["nginx"])
    }

    @Test func requirementsMustBeProvidedBeforeAndProvisionsRequiredAfter() async throws {
        var farm = Farm()
        // node provides node; npm requires it; a later "ghost" provides what nobody requires.
        try farm.component("node", plan: "[[provides]]\nname = \"node\"\n")
        try farm.component("npm", plan: "[[requires]]\nname = \"node\"\n[requires.metadata]\nversion = \"20.x\"\n")
        try farm.component("ghost", plan: "[[provides]]\nname = \"ghost\"\n")
        let detected = try await farm.detector().run(try order("""
            [[order]]
            [[order.group]]
            id = "npm"
            [[order.group]]
            id = "node"
            [[order]]
            [[order.group]]
            id = "node"
            [[order.group]]
            id = "ghost"
            optional = true
            [[order.group]]
            id = "npm"
            """))
        // Group 1 fails (npm requires node before node provides it); in group 2 the optional ghost is left out.
        #expect(detected.group.map(\.id) == ["node", "npm"])
        #expect(detected.plan == [.init(name: "node", providers: ["node@1.0.0"], requires: [.init(name: "node", metadata: ["version": "20.x"])])])
    }

    @Test func anOrAlternativeIsTriedWhenTheFirstPlanDoesNotFit() async throws {
        var farm = Farm()
        // jdk first offers to provide jdk and jre; with nobody requiring jre, its [[or]] of jdk alone fits.
        try farm.component("jdk", plan: "[[provides]]\nname = \"jdk\"\n[[provides]]\nname = \"jre\"\n[[or]]\n[[or.provides]]\nname = \"jdk\"\n")
        try farm.component("maven", plan: "[[requires]]\nname = \"jdk\"\n")
        let detected = try await farm.detector().run(try order("[[order]]\n[[order.group]]\nid = \"jdk\"\n[[order.group]]\nid = \"maven\"\n"))
        #expect(detected.plan.map(\.name) == ["jdk"])
    }

    @Test func whenNoGroupPassesTheErrorSaysWhatEachGroupDid() async throws {
        var farm = Farm()
        try farm.component("node", status: 100)
        try farm.component("npm", plan: "[[requires]]\nname = \"node\"\n")
        let error = await #expect(throws: CNBError.self) {
            try await farm.detector().run(try order("[[order]]\n[[order.group]]\nid = \"node\"\n[[order]]\n[[order.group]]\nid = \"npm\"\n"))
        }
        #expect(error?.message == """
            no group of the order passed detection:
            group 1 (node@1.0.0): node@1.0.0 (it says: node says 100) did not pass
            group 2 (npm@1.0.0): no choice of their build plans has every requirement provided (by the same or an earlier buildpack) and every provision required (by the same or a later one)
            """)
    }

    @Test func aDetectThatExitsWithAnotherStatusIsAnErrorNamingTheBuildpack() async throws {
        var farm = Farm()
        try farm.component("broken", status: 2)
        let error = await #expect(throws: CNBError.self) { try await farm.detector().run(try order("[[order]]\n[[order.group]]\nid = \"broken\"\n")) }
        #expect(error?.message == "broken@1.0.0: bin/detect exited 2 (0 passes, 100 fails, anything else is an error); it says:\nbroken says 2")
    }

    @Test func aCompositeThatIncludesItselfIsRefused() async throws {
        var farm = Farm()
        farm.buildpacks["loop"] = try CNBBuildpackDescriptor.parse("api = \"0.10\"\n[buildpack]\nid = \"loop\"\nversion = \"1\"\n[[order]]\n[[order.group]]\nid = \"loop\"\n")
        let error = await #expect(throws: CNBError.self) { try await farm.detector().run(try order("[[order]]\n[[order.group]]\nid = \"loop\"\n")) }
        #expect(error?.message == "composite buildpack loop@1 includes itself, or nests more than 8 deep")
    }
}
