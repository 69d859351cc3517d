import Foundation
import Testing

/// kiln-launcher built by scripts/build-launcher.sh and run against launch
/// files written here, as an image's entrypoint would be run.
@Suite struct LauncherTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A fresh directory with the launcher built into it and an app directory beside it.
    struct Launcher {
        let root: URL
        var binary: URL { root.appendingPathComponent("kiln-launcher") }
        var app: URL { root.appendingPathComponent("app") }
        var launchFile: URL { root.appendingPathComponent("kiln-launch") }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root.appendingPathComponent("app/sub"), withIntermediateDirectories: true)
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let build = try LauncherTests.run(repository.appendingPathComponent("scripts/build-launcher.sh"), [binary.path], environment: ProcessInfo.processInfo.environment)
            guard build.status == 0, build.stdout.isEmpty, build.stderr.isEmpty else {
                throw LauncherError("scripts/build-launcher.sh failed (\(build.status)): \(build.stdout)\(build.stderr)")
            }
        }

        /// Writes `lines`, after the format line unless `header` is false, as the launch file and runs the launcher with `arguments`.
        func launch(_ lines: [String], _ arguments: [String] = [], header: Bool = true, environment extra: [String: String] = [:]) throws -> Run {
            try ((header ? ["kiln-launch 1"] : []) + lines).joined(separator: "\n").appending("\n").write(to: launchFile, atomically: true, encoding: .utf8)
            var environment = ["PATH": "/usr/bin:/bin", "CNB_LAUNCH_FILE": launchFile.path, "CNB_APP_DIR": app.path]
            environment.merge(extra) { $1 }
            return try LauncherTests.run(binary, arguments, environment: environment)
        }

        /// An executable shell script at `path` beneath the root.
        func script(_ path: String, _ body: String) throws -> URL {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try ("#!/bin/sh\n" + body + "\n").write(to: url, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
            return url
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    struct LauncherError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both to the end before waiting, so a full pipe cannot stall the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A process that prints its name, the variable GREETING, its working directory and its arguments.
    static func printing(_ type: String, greeting: String = "$GREETING") -> [String] {
        ["process \(type)", "command /bin/sh", "command -c", "command printf '%s\\n' \"\(type) \(greeting) $(pwd) [$*]\"", "command sh"]
    }

    @Test func theDefaultProcessRunsInItsDirectoryWithItsDefaultArgs() throws {
        let launcher = try Launcher()
        defer { launcher.remove() }
        let run = try launcher.launch(Self.printing("worker") + ["arg w"] + Self.printing("web") + ["arg one", "arg two words", "directory sub", "default web"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "web  \(launcher.app.path)/sub [one two words]\n")
        // With no default, CNB_PROCESS_TYPE chooses, and the directory is the app's.
        let chosen = try launcher.launch(Self.printing("worker") + ["arg w"] + Self.printing("web"), environment: ["CNB_PROCESS_TYPE": "worker"])
        #expect(chosen.status == 0 && chosen.stdout == "worker  \(launcher.app.path) [w]\n", "\(chosen.stderr)")
    }

    @Test func aNamedProcessTakesTheUserArgsInPlaceOfItsDefaultArgs() throws {
        let launcher = try Launcher()
        defer { launcher.remove() }
        let lines = Self.printing("web") + ["arg default"] + Self.printing("worker") + ["arg default", "default web"]
        let run = try launcher.launch(lines, ["worker", "--queue", "mail fast"])
        #expect(run.status == 0, "\(run.stderr)")
        // Buildpack API 0.9: command elements always stay, the user's args replace `args`.
        #expect(run.stdout == "worker  \(launcher.app.path) [--queue mail fast]\n")
        let bare = try launcher.launch(lines, ["worker"])
        #expect(bare.stdout == "worker  \(launcher.app.path) [default]\n", "\(bare.stderr)")
    }

    @Test func theProcessEnvironmentIsApplied() throws {
        let launcher = try Launcher()
        defer { launcher.remove() }
        let run = try launcher.launch(Self.printing("web") + Self.printing("worker") + [
            "env web GREETING=hello = world", "env worker GREETING=not this one", "default web",
        ], environment: ["GREETING": "from outside", "CNB_LAYERS_DIR": "/layers"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "web hello = world \(launcher.app.path) []\n")
        // The launcher's own variables are not passed on to the app.
        let env = try launcher.launch(["process web", "command /usr/bin/env", "default web"], environment: ["CNB_LAYERS_DIR": "/layers"])
        #expect(env.status == 0 && !env.stdout.contains("CNB_") && env.stdout.contains("PATH=/usr/bin:/bin"), "\(env.stdout)\(env.stderr)")
    }

    @Test func execDOutputIsSetBeforeTheProcessRuns() throws {
        let launcher = try Launcher()
        defer { launcher.remove() }
        // Two files written out of order: b sees what a set, so a ran first and its output was applied before b.
        _ = try launcher.script("layer/exec.d/b", #"printf 'GREETING = "%s, b said \\"hi\\"\\\\"\n' "$GREETING" >&3"#)
        _ = try launcher.script("layer/exec.d/a", #"printf '# set by a\nGREETING = "%s then a"\n\n' "$GREETING" >&3; test "$(pwd)" = "$CNB_TEST_APP" || exit 3"#)
        _ = try launcher.script("layer/exec.d/web/c", #"printf 'ONLY_WEB = "c"\n' >&3"#)
        let run = try launcher.launch(Self.printing("web", greeting: "$GREETING $ONLY_WEB") + [
            "env web GREETING=env", "execd \(launcher.root.path)/layer/exec.d", "process-execd web \(launcher.root.path)/layer/exec.d/web",
            "execd \(launcher.root.path)/missing/exec.d", "default web",
        ], environment: ["CNB_TEST_APP": launcher.app.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "web env then a, b said \"hi\"\\ c \(launcher.app.path) []\n")

        _ = try launcher.script("bad/exec.d/x", #"printf 'A = "ok"\nB = '"'"'literal'"'"'\n' >&3"#)
        let bad = try launcher.launch(Self.printing("web") + ["execd \(launcher.root.path)/bad/exec.d", "default web"])
        #expect(bad.status == 82 && bad.stdout.isEmpty)
        #expect(bad.stderr == "kiln-launcher: exec.d \(launcher.root.path)/bad/exec.d/x output line 2: the value must be a TOML basic string (\"...\")\n")
    }

    @Test func aFirstArgumentThatIsNoProcessTypeIsAUserCommandAndAnUnknownTypeIsRefusedByName() throws {
        let launcher = try Launcher()
        defer { launcher.remove() }
        _ = try launcher.script("layer/exec.d/mark", #"echo 'MARK = "set"' >&3"#)
        let lines = Self.printing("web") + Self.printing("worker") + ["env web GREETING=web-only", "command-env GREETING=for-commands",
                                                                      "default web", "execd \(launcher.root.path)/layer/exec.d"]
        // platform.md: `-- CMD ARGS` runs directly, `CMD ARGS` through a shell; both in the app directory,
        // with the launch environment no process narrows and the exec.d every process gets.
        let direct = try launcher.launch(lines, ["--", "/bin/sh", "-c", "echo \"$GREETING $MARK $(pwd) $0\"", "zero"])
        #expect(direct.status == 0 && direct.stdout == "for-commands set \(launcher.app.path) zero\n", "\(direct.stdout)\(direct.stderr)")
        let shell = try launcher.launch(lines, ["echo \"$GREETING [$1]\"", "one"])
        #expect(shell.status == 0 && shell.stdout == "for-commands [one]\n", "\(shell.stdout)\(shell.stderr)")
        let typo = try launcher.launch(lines, ["wbe"])
        #expect(typo.status == 127 && typo.stderr.contains("wbe"), "\(typo.stderr)")
        let bare = try launcher.launch(lines, ["--"])
        #expect(bare.status == 81 && bare.stderr == "kiln-launcher: -- must be followed by the command to run\n")
        let fromEnvironment = try launcher.launch(lines, environment: ["CNB_PROCESS_TYPE": "cron"])
        #expect(fromEnvironment.status == 81 && fromEnvironment.stderr == "kiln-launcher: no process type \"cron\" (CNB_PROCESS_TYPE); the image has web, worker\n")
    }

    @Test func aMalformedLaunchFileIsRefusedWithItsLine() throws {
        let launcher = try Launcher()
        defer { launcher.remove() }
        let path = launcher.launchFile.path
        let cases: [([String], String)] = [
            (["process web", "command /bin/true"], "line 1: the first line must be \"kiln-launch 1\", not \"process web\""),
            (["kiln-launch 1", "process web", "command /bin/true", "", "commands /bin/true"], "line 5: unknown keyword \"commands\""),
            (["kiln-launch 1", "arg x"], "line 2: arg before any process line"),
            (["kiln-launch 1", "process web", "command /bin/true", "env web NOEQUALS"], "line 4: env web: \"NOEQUALS\" is not NAME=VALUE"),
            (["kiln-launch 1", "process web", "command /bin/true", "env worker A=b"], "line 4: env for process worker, which no earlier process line defines"),
            (["kiln-launch 1", "process web", "command /bin/true", "process web"], "line 4: process type web is given twice"),
            (["kiln-launch 1", "process we/b"], "line 2: process type \"we/b\" may hold only letters, digits, '.', '-' and '_'"),
            (["kiln-launch 1", "process web", "arg x"], "line 2: process web has no command line"),
            (["kiln-launch 1", "process web", "command /bin/true", "default worker"], "line 4: default worker is not a process type of the file"),
            (["kiln-launch 1", "process web", "command /bin/true", "arg " + String(repeating: "x", count: 70_000)], "line 4: longer than 65536 bytes"),
        ]
        for (lines, message) in cases {
            let run = try launcher.launch(lines, header: false)
            #expect(run.status == 80 && run.stdout.isEmpty)
            #expect(run.stderr == "kiln-launcher: \(path) \(message)\n")
        }
    }
}
