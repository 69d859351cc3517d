import Foundation
import KilnConfine

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

    /// Reads the record a builder wrote (`relative`, `.kiln/upgrade.json`, in
    /// `appDirectory`) and checks that it names a release and versions plainly
    /// and a command inside `appDirectory`, executable. Neither the record nor
    /// the command may be reached through a symbolic link: the build made
    /// them, and a link could point the worker at any file of its host.
    public static func read(_ relative: String, in appDirectory: URL) throws -> SlugUpgrade {
        let app: ConfinedDirectory
        let data: Data?
        do {
            app = try ConfinedDirectory(appDirectory, label: "the build directory")
            data = try app.read(relative, cap: 64 << 10, links: .none)
        } catch let error as ConfinedPathError {
            throw SlugUpgradeError("the builder's \(relative) is not a regular file of the build directory (a link or a directory): \(error)")
        }
        guard let data else { throw SlugUpgradeError("the builder left no \(relative)") }
        let upgrade: SlugUpgrade
        do {
            upgrade = try JSONDecoder().decode(SlugUpgrade.self, from: data)
        } catch {
            throw SlugUpgradeError("the builder's \(relative) is not a hot upgrade record ({release, from, to, command})")
        }
        let plain = { (text: String) in
            text.count <= 128 && text.first.map { $0.isASCII && ($0.isLetter || $0.isNumber) } == true
                && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-~".contains($0)) }
        }
        for (field, value) in [("release", upgrade.release), ("from", upgrade.from), ("to", upgrade.to)] where !plain(value) {
            throw SlugUpgradeError("the builder's upgrade record has an unusable \(field): \(value.debugDescription)")
        }
        let parts = upgrade.command.split(separator: "/", omittingEmptySubsequences: false)
        let command = parts.contains("..") || parts.contains("") || upgrade.command.hasPrefix("/") ? nil : try? app.status(of: upgrade.command, links: .none)
        guard let command, command.kind == .regular, command.mode & 0o111 != 0 else {
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
