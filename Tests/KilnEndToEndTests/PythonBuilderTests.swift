import Foundation
import KilnProcess
import KilnTestSupport
import Testing

/// The built-in python builder as Heroku's Python buildpack behaves, through
/// real pushes installing offline from the tests' wheelhouse (served on
/// 127.0.0.1, named by PIP_FIND_LINKS with PIP_NO_INDEX=1): a Django app's
/// hooks and collectstatic, Pipfile.lock, poetry.lock and uv.lock installed
/// from their locks without their dev packages, the web process guessed when
/// there is no Procfile, and a lockfile that cannot be read refused.
@Suite struct PythonBuilderTests {
    /// Creates `app` with its build network on (the wheelhouse is on the host's loopback) and pip pointed at `index`.
    static func offlineApp(_ app: String, on farm: KilnFarm, index: String, config: [String] = []) async throws -> String {
        let key = try await farm.createApp(app)
        let network = try await farm.kiln("apps", "set", "--app", app, "--build-network", "on")
        guard network.succeeded else { throw TestSetupError("apps set failed: \(network.output)") }
        let set = try await sh(TestEnvironment.binary, ["config", "set", "--app", app, "PIP_NO_INDEX=1", "PIP_FIND_LINKS=\(index)"] + config,
                               environment: ["KILN_SERVER": farm.server, "KILN_TOKEN": farm.token])
        guard set.succeeded else { throw TestSetupError("config set failed: \(set.output)") }
        return key
    }

    static func push(_ repo: URL, _ farm: KilnFarm, app: String, key: String) async throws -> Command.Outcome {
        try await sh("git", ["commit", "-q", "--allow-empty", "-m", "push"], in: repo)
        return try await sh("git", ["push", farm.remote(app, key: key), "main"], in: repo)
    }

    static func webProcess(_ slug: URL) throws -> String? {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: slug.appendingPathComponent("manifest.json"))) as? [String: Any]
        return (manifest?["process_types"] as? [String: String])?["web"]
    }

    @Test func aDjangoAppRunsItsHooksAndCollectstaticAndServesWithGunicorn() async throws {
        let wheelhouse = try await Wheelhouse.directory()
        try await FileServer.serving(wheelhouse) { index in
            try await KilnFarm.with(workers: 1) { farm in
                let key = try await Self.offlineApp("django", on: farm, index: index, config: ["KILN_SAMPLE_GREETING=hello"])
                let repo = try await makeGitRepository(copying: "python-django")

                let built = try await Self.push(repo, farm, app: "django", key: key)
                #expect(built.succeeded, "\(built.output)")
                #expect(built.output.contains("Python (requirements.txt) app detected"), "\(built.output)")
                #expect(built.output.contains("pre_compile ran before the install with greeting hello"), "\(built.output)")
                #expect(built.output.contains("$ python manage.py collectstatic --noinput"), "\(built.output)")
                #expect(built.output.contains("1 static file copied"), "\(built.output)")
                #expect(built.output.contains("post_compile ran after collectstatic with Django 5.2.4"), "\(built.output)")
                guard built.succeeded else { return }
                let slug = try await farm.newestSlug(app: "django")
                #expect(try Self.webProcess(slug) == "gunicorn kilnsite.wsgi")
                let body = try await SlugRun.get(slugDirectory: slug)
                #expect(body.contains("django sample served; pre_compile ran before the install with greeting hello post_compile ran after collectstatic with Django 5.2.4; static collected: True"), "\(body)")

                // Django's own error ends the failed build's log.
                #expect(try await farm.kiln("config", "set", "--app", "django", "KILN_SAMPLE_NO_STATIC_ROOT=1").succeeded)
                let broken = try await Self.push(repo, farm, app: "django", key: key)
                #expect(!broken.succeeded, "\(broken.output)")
                #expect(broken.output.contains("collectstatic failed: django.core.exceptions.ImproperlyConfigured: You're using the staticfiles app without having set the STATIC_ROOT setting to a filesystem path."), "\(broken.output)")

                // The same settings build when the app turns collectstatic off.
                #expect(try await farm.kiln("config", "set", "--app", "django", "DISABLE_COLLECTSTATIC=1").succeeded)
                let skipped = try await Self.push(repo, farm, app: "django", key: key)
                #expect(skipped.succeeded, "\(skipped.output)")
                #expect(skipped.output.contains("collectstatic skipped: DISABLE_COLLECTSTATIC is set"), "\(skipped.output)")
                #expect(skipped.output.contains("post_compile ran without collected static files"), "\(skipped.output)")
            }
        }
    }

    struct Locked: Sendable, CustomStringConvertible {
        var fixture: String
        var lockfile: String
        var packages: Int
        var web: String
        var answer: String
        var description: String { lockfile }
    }

    // Each lock also names a dev package (pytest, absent from the wheelhouse: installing it would fail the
    // build) and a Windows-only one (colorama or pywin32, skipped by its marker).
    static let locked = [
        Locked(fixture: "python-pipenv", lockfile: "Pipfile.lock", packages: 3, web: "/app/.venv/bin/python app.py",
               answer: "pipenv sample served with six 1.17.0 and idna 3.10; pytest absent"),
        Locked(fixture: "python-poetry", lockfile: "poetry.lock", packages: 3, web: "gunicorn app:app",
               answer: "poetry sample served by gunicorn/23.0.0 with six 1.17.0; pytest absent"),
        Locked(fixture: "python-uv", lockfile: "uv.lock", packages: 5, web: "gunicorn wsgi:application",
               answer: "uv sample served by gunicorn/23.0.0 with idna 3.10 and six 1.17.0 (idna's extra); pytest absent"),
    ]

    @Test func lockedAppsInstallTheirLocksWithoutDevPackagesAndAnUnreadableLockIsNamed() async throws {
        let wheelhouse = try await Wheelhouse.directory()
        try await FileServer.serving(wheelhouse) { index in
            try await KilnFarm.with(workers: 2) { farm in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for sample in Self.locked {
                        group.addTask {
                            let app = sample.fixture
                            let key = try await Self.offlineApp(app, on: farm, index: index)
                            let repo = try await makeGitRepository(copying: sample.fixture)
                            let built = try await Self.push(repo, farm, app: app, key: key)
                            #expect(built.succeeded, "\(app): \(built.output)")
                            #expect(built.output.contains("Installing \(sample.packages) packages pinned by \(sample.lockfile) (pip)"), "\(app): \(built.output)")
                            #expect(built.output.contains("No broken requirements found."), "\(app): \(built.output)")
                            guard built.succeeded else { return }
                            let slug = try await farm.newestSlug(app: app)
                            #expect(try Self.webProcess(slug) == sample.web, "\(app)")
                            let body = try await SlugRun.get(slugDirectory: slug)
                            #expect(body.contains(sample.answer), "\(app) answered: \(body)")

                            // The lockfile keys the dependency cache: an unchanged lock restores the virtualenv.
                            let again = try await Self.push(repo, farm, app: app, key: key)
                            #expect(again.output.contains("Virtualenv restored from the dependency cache (\(sample.lockfile) unchanged): pip install skipped"), "\(app): \(again.output)")
                        }
                    }
                    group.addTask {
                        let key = try await Self.offlineApp("unreadable", on: farm, index: index)
                        let repo = try await makeGitRepository(["pyproject.toml": "[project]\nname = \"unreadable\"\nversion = \"1\"\n",
                                                                "uv.lock": "version = 1\n[[package]\nname = \"six\"\n"])
                        let refused = try await Self.push(repo, farm, app: "unreadable", key: key)
                        #expect(!refused.succeeded, "\(refused.output)")
                        #expect(refused.output.contains(" !     uv.lock: is not valid TOML: "), "\(refused.output)")
                        #expect(!refused.output.contains("Installing"), "\(refused.output)")
                    }
                    try await group.waitForAll()
                }
            }
        }
    }
}
