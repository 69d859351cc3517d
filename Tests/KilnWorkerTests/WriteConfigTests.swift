import Foundation
import KilnTestSupport
import Testing
@testable import KilnWorker

/// The config phase: the app's vars as ENV_DIR files, as Heroku gives them to `bin/compile`.
@Suite struct WriteConfigTests {
    @Test func eachConfigVarIsAReadOnlyFileNamedAfterIt() async throws {
        let scratch = try PhaseScratch()
        try await WriteConfig().run(try scratch.context(config: ["DATABASE_URL": "postgres://db/app", "SECRET": "s3cr3t"], configVersion: 3))
        let env = scratch.workspace.env
        #expect(try String(contentsOf: env.appendingPathComponent("DATABASE_URL"), encoding: .utf8) == "postgres://db/app")
        #expect(try String(contentsOf: env.appendingPathComponent("SECRET"), encoding: .utf8) == "s3cr3t")
        let attributes = try FileManager.default.attributesOfItem(atPath: env.appendingPathComponent("SECRET").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o400)
        // The log names the vars, never their values.
        #expect(scratch.log.lines == ["-----> Config v3: DATABASE_URL, SECRET"])
        if let user = scratch.user {
            // The buildpacks run as the build user and must reach their directories.
            let owner = try FileManager.default.attributesOfItem(atPath: scratch.workspace.app.path)[.ownerAccountID] as? Int
            #expect(owner == Int(user.uid))
        }
    }
}
