import Foundation
import KilnCNB
import KilnSandbox
import KilnTestSupport
import Synchronization

/// A CNB build's directories in a fresh temporary directory, handed to the
/// build user (when the tests run as root) as a worker would before the
/// scripts run; and the farm's buildpacks directory among them.
struct CNBScratch {
    let layout: CNBLayout
    let user: SandboxUser?

    init(_ name: String) throws {
        let root = try TestEnvironment.temporaryDirectory(name)
        layout = CNBLayout(workspace: root.appendingPathComponent("workspace"), platform: root.appendingPathComponent("platform"),
                           buildpacks: root.appendingPathComponent("buildpacks"), layers: root.appendingPathComponent("layers"),
                           plans: root.appendingPathComponent("plans"))
        for directory in [layout.workspace, layout.platform.appendingPathComponent("env"), layout.buildpacks, layout.layers, layout.plans] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        user = getuid() == 0 ? try SandboxUser.named("kiln-build") : nil
    }

    /// The scripts runner, once what the build writes is the build user's.
    func scripts() throws -> CNBScripts {
        if let user { for directory in [layout.workspace, layout.layers, layout.plans] { try user.own(directory) } }
        return CNBScripts(layout: layout, sandbox: Sandbox(mounts: [], user: user))
    }

    var farm: CNBBuildpackDirectory { CNBBuildpackDirectory(layout.buildpacks) }
}

/// Lines (or names) collected from concurrent callers.
final class TestLines: Sendable {
    private let kept = Mutex<[String]>([])
    func append(_ line: String) { kept.withLock { $0.append(line) } }
    var lines: [String] { kept.withLock { $0 } }
}
