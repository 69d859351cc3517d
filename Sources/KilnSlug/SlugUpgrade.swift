import Foundation

/// What makes a slug a hot upgrade (`KILN-HOT: true`): the OTP release it
/// upgrades in place, from the version the app's previous release runs to
/// the version this slug holds, and the command the deployer runs on the
/// running node instead of restarting it (docs/hot-upgrades.md).
public struct SlugUpgrade: Codable, Sendable, Equatable {
    /// The OTP release's name (`mix release`'s, usually the app's).
    public var release: String
    public var from: String
    public var to: String
    /// The upgrade command, relative to the slug's root (`/app` in a dyno).
    public var command: String

    public init(release: String, from: String, to: String, command: String) {
        self.release = release
        self.from = from
        self.to = to
        self.command = command
    }

    /// Reads the record a builder wrote (`.kiln/upgrade.json` in the build
    /// directory) and checks that it names a release and versions plainly and
    /// a command inside `appDirectory`, executable.
    public static func read(_ file: URL, appDirectory: URL) throws -> SlugUpgrade {
        let upgrade: SlugUpgrade
        do {
            upgrade = try JSONDecoder().decode(SlugUpgrade.self, from: Data(contentsOf: file))
        } catch {
            throw SlugUpgradeError("the builder's \(file.lastPathComponent) is not a hot upgrade record ({release, from, to, command}): \(error)")
        }
        let plain = { (text: String) in !text.isEmpty && text.count <= 128 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-~".contains($0)) } }
        for (field, value) in [("release", upgrade.release), ("from", upgrade.from), ("to", upgrade.to)] where !plain(value) {
            throw SlugUpgradeError("the builder's upgrade record has an unusable \(field): \(value.debugDescription)")
        }
        let parts = upgrade.command.split(separator: "/", omittingEmptySubsequences: false)
        guard !upgrade.command.hasPrefix("/"), !parts.contains(".."), !parts.contains(""),
              FileManager.default.isExecutableFile(atPath: appDirectory.appendingPathComponent(upgrade.command).path) else {
            throw SlugUpgradeError("the builder's upgrade command \(upgrade.command.debugDescription) is not an executable file inside the slug")
        }
        return upgrade
    }
}

/// A hot upgrade record that cannot be used.
public struct SlugUpgradeError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
