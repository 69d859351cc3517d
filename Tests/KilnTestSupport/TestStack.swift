import Foundation
import KilnProcess

/// The tests' build stack, `bookworm-min` (Debian 12 minbase by
/// `scripts/stack --minimal`, declared as heroku-24), made once per recipe
/// by Tests/Fixtures/stacks/test-stack.sh and kept outside the clone
/// (`/var/cache/kiln-fixtures/stack-DIGEST`), so that only the first run on
/// a machine builds it.
public enum TestStack {
    /// The stack's name, as apps name it.
    public static let name = "bookworm-min"
    /// The Heroku name its stack.conf declares.
    public static let heroku = "heroku-24"

    /// The stacks directory that holds it (for `kiln up --stacks`), made on first use;
    /// concurrent callers in this process share one making, other processes wait on the script's lock.
    public static func directory() async throws -> URL {
        try await making.value
    }

    private static let making = Task<URL, any Error> {
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Fixtures/stacks/test-stack.sh")
        // debootstrap downloads and unpacks: up to several minutes the first time, once per machine and recipe.
        let outcome = try await Command("/bin/bash", [script.path]).run(limit: 1 << 20)
        guard outcome.succeeded, let last = outcome.output.split(separator: "\n").last else {
            throw TestSetupError("the test stack could not be made (\(script.path)):\n\(outcome.output.suffix(4000))")
        }
        return URL(fileURLWithPath: String(last))
    }
}
