import Foundation
import KilnCNB
import Testing

/// The environment modification rules for layer env directories and layer paths, at build and at launch.
@Suite struct CNBEnvironmentTests {
    func apply(_ files: [String: String], to start: [String: String]) -> [String: String] {
        var env = start
        CNBEnvDirectory(files).apply(to: &env)
        return env
    }

    @Test func eachSuffixModifiesItsVariable() {
        let env = apply(["A.append": "x", "A.delim": ":", "P.prepend": "y", "O.override": "o", "D.default": "d", "E.default": "e", "BARE": "b"],
                        to: ["A": "a", "P": "p", "O": "old", "E": "set", "BARE": "old"])
        #expect(env == ["A": "a:x", "P": "yp", "O": "o", "D": "d", "E": "set", "BARE": "b"])
    }

    @Test func noDelimiterIsAddedToAnEmptyVariableAndUnknownSuffixesAreIgnored() {
        #expect(apply(["A.append": "x", "A.delim": ":", "B.weird": "z", ".append": "q"], to: [:]) == ["A": "x"])
    }

    func layer(_ name: String, build: Bool = true, launch: Bool = true, dirs: Set<String> = [], env: [String: String] = [:],
               envBuild: [String: String] = [:], envLaunch: [String: String] = [:], web: [String: String] = [:]) -> CNBLayerEnv {
        CNBLayerEnv(name: name, path: "/layers/\(name)", types: .init(launch: launch, build: build), directories: dirs,
                    env: .init(env), envBuild: .init(envBuild), envLaunch: .init(envLaunch), envLaunchProcess: ["web": .init(web)])
    }

    @Test func buildLayersPutBinAndLibOnPathsLaterBuildpacksFirst() {
        let env = CNBEnvironment.build(after: [[layer("b", dirs: ["bin"]), layer("a", dirs: ["bin", "lib"])], [layer("c", dirs: ["bin", "include"])], [layer("l", build: false, dirs: ["bin"])]],
                                       starting: ["PATH": "/usr/bin"])
        #expect(env["PATH"] == "/layers/c/bin:/layers/b/bin:/layers/a/bin:/usr/bin")
        #expect(env["LD_LIBRARY_PATH"] == "/layers/a/lib" && env["LIBRARY_PATH"] == "/layers/a/lib" && env["CPATH"] == "/layers/c/include")
    }

    @Test func buildAppliesEnvThenEnvBuildAndNeverEnvLaunch() {
        let env = CNBEnvironment.build(after: [[layer("a", env: ["X.override": "env", "Y.append": "1"], envBuild: ["X.override": "build", "Y.append": "2"], envLaunch: ["Z": "no"])]], starting: [:])
        #expect(env == ["X": "build", "Y": "12"])
    }

    @Test func launchAppliesLaunchLayersThenTheProcessDirectory() {
        let layers = [[layer("a", launch: true, dirs: ["bin", "lib", "include"], env: ["X": "env"], envLaunch: ["X": "launch"], web: ["X": "web"])], [layer("b", launch: false, env: ["Y": "no"])]]
        #expect(CNBEnvironment.launch(layers, process: "web", starting: [:]) == ["X": "web", "PATH": "/layers/a/bin", "LD_LIBRARY_PATH": "/layers/a/lib"])
        #expect(CNBEnvironment.launch(layers, process: "worker", starting: [:])["X"] == "launch")
    }

    @Test func aLayerIsReadFromDisk() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnb-env-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let layer = root.appendingPathComponent("node")
        for dir in ["bin", "env", "env.launch/web"] { try FileManager.default.createDirectory(at: layer.appendingPathComponent(dir), withIntermediateDirectories: true) }
        try "v1".write(to: layer.appendingPathComponent("env/NODE_ENV.default"), atomically: true, encoding: .utf8)
        try "w".write(to: layer.appendingPathComponent("env.launch/web/PORT"), atomically: true, encoding: .utf8)
        let loaded = try CNBLayerEnv.load(layer, root: root, types: .init(launch: true), owner: "heroku/nodejs")
        #expect(loaded.directories == ["bin"] && loaded.env.files == ["NODE_ENV.default": "v1"] && loaded.envLaunchProcess["web"]?.files == ["PORT": "w"])
    }

    @Test func linksOutOfTheRootAndLargeFilesAreRefusedByName() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnb-env-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let env = root.appendingPathComponent("node/env")
        try FileManager.default.createDirectory(at: env, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: env.appendingPathComponent("SECRET").path, withDestinationPath: "/etc/passwd")
        #expect(throws: CNBError("heroku/nodejs: env/SECRET is a link out of the layers directory")) {
            try CNBEnvDirectory.load(env, root: root, owner: "heroku/nodejs")
        }
        try FileManager.default.removeItem(at: env.appendingPathComponent("SECRET"))
        // A link to another file of the layers is followed, beneath the layers directory.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("shared"), withIntermediateDirectories: true)
        try "from shared".write(to: root.appendingPathComponent("shared/value"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: env.appendingPathComponent("SHARED").path, withDestinationPath: "../../shared/value")
        #expect(try CNBEnvDirectory.load(env, root: root, owner: "heroku/nodejs").files == ["SHARED": "from shared"])
        try FileManager.default.removeItem(at: env.appendingPathComponent("SHARED"))
        #expect(mkfifo(env.appendingPathComponent("PIPE").path, 0o644) == 0)
        #expect(throws: CNBError("heroku/nodejs: env/PIPE is a fifo, not a file")) {
            try CNBEnvDirectory.load(env, root: root, owner: "heroku/nodejs")
        }
        try FileManager.default.removeItem(at: env.appendingPathComponent("PIPE"))
        try Data(count: (1 << 20) + 1).write(to: env.appendingPathComponent("BIG"))
        #expect(throws: CNBError("heroku/nodejs: env/BIG is 1048577 bytes; env files are limited to 1 MiB")) {
            try CNBEnvDirectory.load(env, root: root, owner: "heroku/nodejs")
        }
    }
}
