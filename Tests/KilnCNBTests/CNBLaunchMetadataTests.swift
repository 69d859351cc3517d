import Foundation
import KilnCNB
import Testing

/// launch.toml, build.toml and store.toml as bin/build writes them; bad ones refused by name.
@Suite struct CNBLaunchMetadataTests {
    @Test func processesLabelsAndSlicesAreRead() throws {
        let launch = try CNBLaunchMetadata.parse("""
            [[processes]]
            type = "web"
            command = ["node", "server.js"]
            args = ["--port", "8080"]
            default = true
            working-dir = "/workspace/app"
            [[processes]]
            type = "worker.v2_x-1"
            command = ["node"]
            [[labels]]
            key = "org.example.team"
            value = "web"
            [[slices]]
            paths = ["public/*", "/workspace/static"]
            """, buildpack: "heroku/nodejs")
        #expect(launch.processes == [
            .init(type: "web", command: ["node", "server.js"], args: ["--port", "8080"], isDefault: true, workingDirectory: "/workspace/app"),
            .init(type: "worker.v2_x-1", command: ["node"]),
        ])
        #expect(launch.labels == [.init(key: "org.example.team", value: "web")] && launch.slices == [["public/*", "/workspace/static"]])
    }

    @Test func badLaunchTomlsAreRefusedByName() {
        for (text, message) in [
            ("[[processes]]\ntype = \"web\"\ncommand = \"node server.js\"\n", "heroku/nodejs: launch.toml: process web: command must be an array of strings (Buildpack API 0.9 and later), not a string"),
            ("[[processes]]\ntype = \"web app\"\ncommand = [\"x\"]\n", "heroku/nodejs: launch.toml: process type \"web app\" may hold only letters, digits, '.', '-' and '_', and is not . or .."),
            ("[[processes]]\ntype = \"a\"\ncommand = [\"x\"]\ndefault = true\n[[processes]]\ntype = \"b\"\ncommand = [\"y\"]\ndefault = true\n", "heroku/nodejs: launch.toml: only one process may be default = true, not a and b"),
            ("[[processes]]\ntype = \"a\"\ncommand = [\"x\"]\n[[processes]]\ntype = \"a\"\ncommand = [\"y\"]\n", "heroku/nodejs: launch.toml: process type a is given twice"),
            ("[[processes]]\ntype = \"a\"\ncommand = []\n", "heroku/nodejs: launch.toml: process a has no command"),
            ("[[processes]]\ntype = \"a\"\ncommand = [\"x\", 1]\n", "heroku/nodejs: launch.toml: process a: command must be an array of strings"),
            ("[[labels]]\nkey = \"k\"\nvalue = \"1\"\n[[labels]]\nkey = \"k\"\nvalue = \"2\"\n", "heroku/nodejs: launch.toml: label k is given twice"),
            ("[[slices]]\npaths = [\"../etc\"]\n", "heroku/nodejs: launch.toml: slice path ../etc leaves the app directory"),
        ] {
            #expect(throws: CNBError(message)) { try CNBLaunchMetadata.parse(text, buildpack: "heroku/nodejs") }
        }
    }

    @Test func laterBuildpacksReplaceProcessTypesAndTheLastDefaultWins() {
        let first = CNBLaunchMetadata(processes: [.init(type: "web", command: ["a"], isDefault: true), .init(type: "worker", command: ["w"])])
        let second = CNBLaunchMetadata(processes: [.init(type: "worker", command: ["w2"], isDefault: true)])
        let third = CNBLaunchMetadata(processes: [.init(type: "worker", command: ["w3"])])
        #expect(CNBLaunchMetadata.merged([first, second]).defaultType == "worker")
        let all = CNBLaunchMetadata.merged([first, second, third])
        #expect(all.defaultType == nil && all.processes.map(\.command) == [["a"], ["w3"]])
    }

    @Test func buildTomlUnmetEntriesMustBeInThePlan() throws {
        #expect(try CNBBuildMetadata.parse("[[unmet]]\nname = \"node\"\n", buildpack: "b", plan: ["node", "npm"]).unmet == ["node"])
        #expect(throws: CNBError("b: build.toml: unmet yarn is not in the buildpack's plan (node, npm)")) {
            try CNBBuildMetadata.parse("[[unmet]]\nname = \"yarn\"\n", buildpack: "b", plan: ["node", "npm"])
        }
    }

    @Test func storeTomlMetadataIsKept() throws {
        let store = try CNBStoreMetadata.parse("[metadata]\nlast = \"20.1\"\n[metadata.cache]\nhits = 3\n", buildpack: "b")
        #expect(store.metadata["last"] == "20.1" && store.metadataTOML.contains("hits = 3"))
        #expect(throws: CNBError("b: store.toml: metadata must be a table ([metadata])")) { try CNBStoreMetadata.parse("metadata = 1\n", buildpack: "b") }
    }
}
