import Foundation
import KilnSlug
import KilnTestSupport
import Testing

/// The upgrade record a builder leaves is the build's own output: the worker
/// reads it without following links and takes only plain names and a command inside the slug.
@Suite struct SlugUpgradeTests {
    static func app(record: String, files: [String: String] = ["bin/hot-upgrade*": "#!/bin/sh\n"]) throws -> URL {
        let app = try TestEnvironment.temporaryDirectory("upgrade-record")
        try writeFiles(files.merging([".kiln/upgrade.json": record]) { $1 }, in: app)
        return app
    }

    static func record(release: String = "shop", from: String = "1.0.0", to: String = "1.1.0", command: String = "bin/hot-upgrade") -> String {
        #"{"release": "\#(release)", "from": "\#(from)", "to": "\#(to)", "command": "\#(command)"}"#
    }

    @Test func aBuildersRecordIsRead() throws {
        let upgrade = try SlugUpgrade.read(".kiln/upgrade.json", in: try Self.app(record: Self.record()))
        #expect(upgrade == SlugUpgrade(release: "shop", from: "1.0.0", to: "1.1.0", command: "bin/hot-upgrade"))
    }

    @Test(arguments: [
        (record(release: ".."), "unusable release"),
        (record(to: "1.1.0;rm"), "unusable to"),
        (record(from: ""), "unusable from"),
        (record(command: "../outside"), "not an executable file inside the slug"),
        (record(command: "/bin/sh"), "not an executable file inside the slug"),
        (record(command: "bin/missing"), "not an executable file inside the slug"),
        ("not json", "is not a hot upgrade record"),
    ])
    func aRecordThatCannotBeUsedIsRefused(record: String, reason: String) throws {
        let error = #expect(throws: SlugUpgradeError.self) { try SlugUpgrade.read(".kiln/upgrade.json", in: try Self.app(record: record)) }
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
    }

    @Test func linksAreNotFollowed() throws {
        // A record that links to a file of the host, and a command that is a link to a host program.
        let linkedRecord = try TestEnvironment.temporaryDirectory("upgrade-link")
        try FileManager.default.createDirectory(at: linkedRecord.appendingPathComponent(".kiln"), withIntermediateDirectories: true)
        let outside = try TestEnvironment.temporaryDirectory("outside").appendingPathComponent("upgrade.json")
        try Data(Self.record().utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(atPath: linkedRecord.appendingPathComponent(".kiln/upgrade.json").path, withDestinationPath: outside.path)
        #expect(throws: SlugUpgradeError.self) { try SlugUpgrade.read(".kiln/upgrade.json", in: linkedRecord) }

        let linkedCommand = try Self.app(record: Self.record(command: "bin/sh"), files: [:])
        try FileManager.default.createDirectory(at: linkedCommand.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linkedCommand.appendingPathComponent("bin/sh").path, withDestinationPath: "/bin/sh")
        let error = #expect(throws: SlugUpgradeError.self) { try SlugUpgrade.read(".kiln/upgrade.json", in: linkedCommand) }
        #expect(error?.description.contains("not an executable file inside the slug") == true)
    }
}
