import Foundation
import KilnCatalog
import KilnDatabase
import KilnTestSupport
import Testing

/// What `POST /api/apps` may name as an app's deploy branch, and `PATCH
/// /api/apps/{app}` as its paths: a NUL byte (schemathesis sent one) reached
/// PostgreSQL and made a 500.
@Suite struct DeployBranchTests {
    @Test("a deploy branch git would refuse is refused before the database, naming it")
    func badBranchesAreRefused() async throws {
        let url = try await TestEnvironment.freshDatabase()
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            let catalog = Catalog(database: database)
            for branch in ["a\u{0}b", "with space", "x..y", "-x", "feature/", "a.lock", "a~1", "tab\there", "@{u}", ".hidden"] {
                do {
                    _ = try await catalog.createApp(name: "branchy", deployBranch: branch)
                    Issue.record("the branch \(branch.debugDescription) was accepted")
                } catch let error as CatalogError {
                    #expect(error.code == .invalid)
                    #expect(error.message.hasPrefix("'\(branch)' is not a valid branch name"))
                }
            }
            _ = try await catalog.createApp(name: "paths")
            for settings in [(sourceDir: "a\u{0}b", keyFiles: nil), (sourceDir: nil, keyFiles: ["ok", "a\u{0}b"])] as [(sourceDir: String?, keyFiles: [String]?)] {
                do {
                    _ = try await catalog.updateApp("paths", sourceDir: settings.sourceDir, cacheKeyFiles: settings.keyFiles)
                    Issue.record("the path with a NUL byte was accepted")
                } catch let error as CatalogError {
                    #expect(error.code == .invalid)
                }
            }
            for (index, branch) in ["main", "release/2.x", "feature-ü", "v1.2"].enumerated() {
                #expect(try await catalog.createApp(name: "branchy-\(index)", deployBranch: branch).deployBranch == branch)
            }
        }
    }
}
