import Foundation
import KilnProcess

/// Runs a program for a test and returns its status and interleaved output.
@discardableResult
public func sh(_ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) async throws -> Command.Outcome {
    var environment = environment
    // No prompts, no user or system git configuration: tests see git as a fresh machine does.
    environment["GIT_TERMINAL_PROMPT"] = environment["GIT_TERMINAL_PROMPT"] ?? "0"
    environment["GIT_CONFIG_NOSYSTEM"] = "1"
    environment["GIT_AUTHOR_NAME"] = "Kiln Test"
    environment["GIT_AUTHOR_EMAIL"] = "test@kiln.invalid"
    environment["GIT_COMMITTER_NAME"] = "Kiln Test"
    environment["GIT_COMMITTER_EMAIL"] = "test@kiln.invalid"
    return try await Command(executable, arguments, environment: environment, workingDirectory: directory?.path).run(limit: 4 << 20)
}

/// Writes `files` (relative path to content) under `directory`; paths ending in `*` are made executable.
public func writeFiles(_ files: [String: String], in directory: URL) throws {
    for (name, content) in files {
        let executable = name.hasSuffix("*")
        let path = directory.appendingPathComponent(executable ? String(name.dropLast()) : name)
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try content.write(to: path, atomically: true, encoding: .utf8)
        if executable { chmod(path.path, 0o755) }
    }
}

/// Makes symbolic `links` (path to target) under `directory`, with their parent directories.
public func writeLinks(_ links: [String: String], in directory: URL) throws {
    for (name, target) in links.sorted(by: { $0.key < $1.key }) {
        let path = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path.path, withDestinationPath: target)
    }
}

/// A git repository with `files` and symbolic `links` (path to target) committed on `branch`.
public func makeGitRepository(_ files: [String: String], links: [String: String] = [:], branch: String = "main") async throws -> URL {
    let directory = try TestEnvironment.temporaryDirectory("repo")
    try await sh("git", ["init", "-q", "-b", branch], in: directory)
    try writeFiles(files, in: directory)
    try writeLinks(links, in: directory)
    try await sh("git", ["add", "-A"], in: directory)
    try await sh("git", ["commit", "-qm", "test commit"], in: directory)
    return directory
}

/// A git repository holding a copy of `fixture` (a directory under Tests/Fixtures), committed on `branch`.
public func makeGitRepository(copying fixture: String, branch: String = "main") async throws -> URL {
    let directory = try TestEnvironment.temporaryDirectory("repo")
    let source = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(fixture)
    try await sh("cp", ["-a", source.path + "/.", directory.path])
    try await sh("git", ["init", "-q", "-b", branch], in: directory)
    try await sh("git", ["add", "-A"], in: directory)
    try await sh("git", ["commit", "-qm", "sample app"], in: directory)
    return directory
}
