import Foundation
import KilnTestSupport
import Testing

/// builders/python/lib/lock-requirements.py, the python builder's reader of
/// lockfiles, on the lock formats the end-to-end fixtures do not cover
/// (Poetry 2's groups, Poetry 1's categories, Pipfile.lock sources that are
/// not an index) and on lockfiles it must refuse with one line.
@Suite struct LockRequirementsTests {
    static func pins(_ kind: String, _ files: [String: String], lock: String) async throws -> (status: Int32, output: String, succeeded: Bool) {
        let directory = try TestEnvironment.temporaryDirectory("lock")
        try writeFiles(files, in: directory)
        let helper = TestEnvironment.repositoryRoot.appendingPathComponent("builders/python/lib/lock-requirements.py").path
        var arguments = [helper, kind, directory.appendingPathComponent(lock).path]
        if files["pyproject.toml"] != nil { arguments.append(directory.appendingPathComponent("pyproject.toml").path) }
        let outcome = try await sh("/usr/bin/python3", arguments)
        return (outcome.status, outcome.output, outcome.succeeded)
    }

    @Test func poetryTwoLocksKeepTheMainGroupWithItsMarkers() async throws {
        let lock = """
            [[package]]
            name = "six"
            version = "1.17.0"
            groups = ["main"]
            files = [{file = "six-1.17.0-py2.py3-none-any.whl", hash = "sha256:aa"}]

            [[package]]
            name = "tzdata"
            version = "2025.2"
            groups = ["main"]
            markers = {main = "sys_platform == \\"win32\\""}
            files = [{file = "tzdata-2025.2-py2.py3-none-any.whl", hash = "sha256:bb"}]

            [[package]]
            name = "pytest"
            version = "8.3.4"
            groups = ["dev"]
            files = [{file = "pytest-8.3.4-py3-none-any.whl", hash = "sha256:cc"}]

            [metadata]
            lock-version = "2.1"
            """
        let out = try await Self.pins("poetry", ["poetry.lock": lock], lock: "poetry.lock")
        #expect(out.succeeded, "\(out.output)")
        #expect(out.output == "six==1.17.0 --hash=sha256:aa\ntzdata==2025.2 ; sys_platform == \"win32\" --hash=sha256:bb\n", "\(out.output)")
    }

    @Test func poetryOneLocksKeepTheMainCategory() async throws {
        let lock = """
            [[package]]
            name = "Six"
            version = "1.16.0"
            category = "main"
            optional = false

            [[package]]
            name = "black"
            version = "24.1.0"
            category = "dev"
            optional = false
            """
        let out = try await Self.pins("poetry", ["poetry.lock": lock], lock: "poetry.lock")
        #expect(out.output == "Six==1.16.0\n", "\(out.output)")
    }

    @Test func pipfileLocksNameGitAndPathSourcesWithoutHashes() async throws {
        let lock = #"{"default": {"kiln-lib": {"git": "https://example.org/kiln-lib.git", "ref": "0f3c2a1"}, "local": {"path": "./vendor/local", "editable": true}, "six": {"version": "==1.17.0", "hashes": ["sha256:aa"]}}, "develop": {}}"#
        let out = try await Self.pins("pipenv", ["Pipfile.lock": lock], lock: "Pipfile.lock")
        // One pin without a hash: pip's hash-checking mode would refuse the others, so no hashes at all.
        #expect(out.output == "kiln-lib @ git+https://example.org/kiln-lib.git@0f3c2a1\n./vendor/local\nsix==1.17.0\n", "\(out.output)")
    }

    @Test func anUnreadableLockfileIsOneLineNamingTheFileAndTheProblem() async throws {
        let cases: [(kind: String, lock: String, content: String, message: String)] = [
            ("pipenv", "Pipfile.lock", "{\"default\": ", "Pipfile.lock: is not valid JSON: Expecting value: line 1 column 13 (char 12)"),
            ("pipenv", "Pipfile.lock", #"{"default": {"six": {"index": "pypi"}}}"#, "Pipfile.lock: package six has no version, git, path or file"),
            ("poetry", "poetry.lock", "[[package]]\nname = \"six\"\n", "poetry.lock: has a [[package]] without a name or a version"),
            ("uv", "uv.lock", "version = 1\n[[package]]\nname = \"six\"\nversion = \"1.17.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
             "uv.lock: has no root project (a package whose source is `virtual` or `editable` \".\")"),
            ("uv", "uv.lock", "[[package]\n", "uv.lock: is not valid TOML: Expected ']]' at the end of an array declaration (at line 1, column 10)"),
        ]
        for item in cases {
            let out = try await Self.pins(item.kind, [item.lock: item.content], lock: item.lock)
            #expect(out.status == 2, "\(item.lock): \(out.output)")
            #expect(out.output == item.message + "\n", "\(item.lock): \(out.output)")
        }
    }
}
