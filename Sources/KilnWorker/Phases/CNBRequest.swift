import Foundation
import KilnCNB

/// Why an app builds with Cloud Native Buildpacks, and what it asked for:
/// its `project.toml`, its `paastech/buildpacks.yaml`, or nothing of its
/// own (the farm's `--cnb-order`).
struct CNBRequest: Sendable, Equatable {
    enum Origin: Sendable, Equatable {
        /// `project.toml` with `[[io.buildpacks.group]]` (or `[[build.buildpacks]]`).
        case project(CNBProject)
        /// PaaSTech's `paastech/buildpacks.yaml`: a builder, a buildpack, env.
        case paastech(CNBPaaSTechConfig)
        /// The farm's default order (`--cnb-order`); the app names nothing.
        case farmOrder
    }

    var origin: Origin

    /// The largest CNB file of an app Kiln reads.
    static let fileCap = 1 << 20

    /// The request `app` makes, if any: `project.toml` first, then
    /// `paastech/buildpacks.yaml`. A project.toml that names no buildpack
    /// (it is there for other tools) asks for nothing.
    static func read(from app: URL) throws -> CNBRequest? {
        do {
            if let text = try HostileInput.readText("project.toml", in: app, label: "the app", cap: fileCap, links: .none) {
                let project = try CNBProject.parse(text)
                if project.wantsCNB { return CNBRequest(origin: .project(project)) }
            }
            if let text = try HostileInput.readText("paastech/buildpacks.yaml", in: app, label: "the app", cap: fileCap, links: .none) {
                return CNBRequest(origin: .paastech(try CNBPaaSTechConfig.parse(text)))
            }
        } catch let error as CNBError {
            throw BuildFailure(error.message)
        }
        return nil
    }

    /// The log's account of why this is a CNB build.
    var reason: String {
        switch origin {
        case .project(let project):
            "project.toml names \(project.buildpacks.count) buildpack(s): Cloud Native Buildpacks build"
        case .paastech(let config):
            "paastech/buildpacks.yaml asks for " + [config.builder.map { "builder \($0)" }, config.buildpack.map { "buildpack \($0)" }]
                .compactMap { $0 }.joined(separator: " and ") + ": Cloud Native Buildpacks build"
        case .farmOrder:
            "the app names no buildpack: trying the farm's CNB order first"
        }
    }
}
