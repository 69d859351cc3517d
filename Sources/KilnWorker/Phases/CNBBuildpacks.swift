import Foundation
import KilnArchive
import KilnBuildpacks
import KilnCNB
import KilnConfine
import KilnImage
import KilnProcess

/// The detect phase's first half for a CNB build: the order the app is
/// detected against, and where each buildpack in it comes from. The farm's
/// buildpacks (`--cnb-buildpacks`, by id and version) serve every entry
/// that names no `uri`; a `uri` names a directory of the app (copied out of
/// it beneath its descriptor, so no link the push made is followed), a
/// tarball or a git repository (fetched as classic buildpacks are, under
/// the farm's fetch policy). A composite's members resolve the same way.
struct CNBBuildpacks: Sendable {
    let configuration: WorkerConfiguration
    let resolver: BuildpackResolver

    /// The most an app's own buildpack directory may hold.
    static let appBuildpackBounds = ConfinedDirectory.CopyBounds(entries: 10_000, bytes: 256 << 20)

    /// What the order is made of and how its entries resolve.
    struct Resolved: Sendable {
        let order: CNBOrder
        /// Buildpacks the app brought (from its directory, a tarball or git), by id.
        let staged: [String: [CNBBuildpackDescriptor]]
        let farm: CNBBuildpackDirectory
        /// The app's directory within the fetched tree that is built (paastech `path`), "" for all of it.
        let path: String
        /// Build-time variables the app's file sets (project.toml build env, paastech env), before config vars.
        let env: [(String, String)]
        /// project.toml's include or exclude, applied to the app before detection.
        var filter: CNBSourceFilter? = nil

        /// A group entry as a buildpack: one the app brought, else the farm's.
        func resolve(_ entry: CNBGroupEntry) throws -> CNBBuildpackDescriptor {
            if let candidates = staged[entry.id] {
                if let version = entry.version, let match = candidates.first(where: { $0.version == version }) { return match }
                if entry.version == nil, let only = candidates.first { return only }
            }
            return try farm.resolve(entry)
        }
    }

    func resolve(_ request: CNBRequest, _ context: BuildContext) async throws -> Resolved {
        let farm = CNBBuildpackDirectory(configuration.cnbBuildpacksDirectory)
        switch request.origin {
        case .farmOrder:
            guard let file = configuration.cnbOrder else { throw BuildFailure("the farm has no CNB order (--cnb-order)") }
            return Resolved(order: try Self.order(file, label: "the farm's CNB order \(file.path)"), staged: [:], farm: farm, path: "", env: [])
        case .paastech(let config):
            let order: CNBOrder
            if let buildpack = config.buildpack, let entry = config.buildpackEntry {
                order = CNBOrder(groups: [[entry]])
                await context.log("-----> paastech/buildpacks.yaml: buildpack \(buildpack)" + (config.builder.map { " (builder \($0) named too: the buildpack alone builds)" } ?? ""))
            } else if let builder = config.builder {
                guard let file = configuration.cnbBuilders[builder] else {
                    let known = configuration.cnbBuilders.keys.sorted()
                    throw BuildFailure("paastech/buildpacks.yaml names the builder \(builder), which this farm does not have"
                                       + (known.isEmpty ? " (it has none: start the workers with --cnb-builder NAME=ORDER_FILE)" : "; it has \(known.joined(separator: ", "))")
                                       + ", or name a buildpack with `buildpack:`")
                }
                order = try Self.order(file, label: "the builder \(builder)'s order \(file.path)")
                await context.log("-----> paastech/buildpacks.yaml: builder \(builder), \(order.groups.count) group(s)")
            } else {
                throw BuildFailure("paastech/buildpacks.yaml names neither a builder nor a buildpack")
            }
            return Resolved(order: order, staged: [:], farm: farm, path: config.path == "." ? "" : config.path,
                            env: config.env.map { ($0.name, $0.value) })
        case .project(let project):
            var staged: [String: [CNBBuildpackDescriptor]] = [:]
            var group: [CNBGroupEntry] = []
            for (index, buildpack) in project.buildpacks.enumerated() {
                let source: CNBBuildpackSource
                do { source = try buildpack.source } catch let error as CNBError { throw BuildFailure(error.message) }
                switch source {
                case .farm(let id, let version):
                    group.append(CNBGroupEntry(id: id, version: version))
                case .app(let path):
                    let descriptor = try await stageFromApp(path, index: index, context)
                    staged[descriptor.id, default: []].append(descriptor)
                    group.append(CNBGroupEntry(id: descriptor.id, version: descriptor.version))
                    await context.log("-----> project.toml: \(descriptor.reference) from the app's \(path)")
                case .tarball(let url):
                    let descriptor = try await fetch(BuildpackReference(.tarball(url: url.absoluteString), origin: "project.toml"), context)
                    staged[descriptor.id, default: []].append(descriptor)
                    group.append(CNBGroupEntry(id: descriptor.id, version: descriptor.version))
                case .git(let url, let ref):
                    let descriptor = try await fetch(BuildpackReference(.git(url: url.absoluteString, ref: ref), origin: "project.toml"), context)
                    staged[descriptor.id, default: []].append(descriptor)
                    group.append(CNBGroupEntry(id: descriptor.id, version: descriptor.version))
                case .registry(let reference):
                    let (main, all) = try await pullBuildpackage(reference, index: index, context)
                    for descriptor in all { staged[descriptor.id, default: []].append(descriptor) }
                    group.append(CNBGroupEntry(id: main.id, version: main.version))
                    await context.log("-----> project.toml: \(main.reference) from the buildpackage \(reference)" + (all.count > 1 ? " (\(all.count) buildpacks in it)" : ""))
                }
            }
            let filter: CNBSourceFilter?
            do {
                filter = !project.include.isEmpty ? try CNBSourceFilter(.include, patterns: project.include, file: "project.toml include")
                    : !project.exclude.isEmpty ? try CNBSourceFilter(.exclude, patterns: project.exclude, file: "project.toml exclude") : nil
            } catch let error as CNBError {
                throw BuildFailure(error.message)
            }
            return Resolved(order: CNBOrder(groups: [group]), staged: staged, farm: farm, path: "", env: project.env.map { ($0.name, $0.value) }, filter: filter)
        }
    }

    static func order(_ file: URL, label: String) throws -> CNBOrder {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { // farm-owned: the operator's order file
            throw BuildFailure("\(label) cannot be read")
        }
        do { return try CNBOrder.parse(text, file: label) } catch let error as CNBError { throw BuildFailure(error.message) }
    }

    /// Copies the app's buildpack directory `path` out of the app, beneath
    /// its descriptor, and reads its buildpack.toml there.
    func stageFromApp(_ path: String, index: Int, _ context: BuildContext) async throws -> CNBBuildpackDescriptor {
        let destination = context.workspace.root.appendingPathComponent("cnb-buildpacks/app-\(index)")
        let workspace = context.workspace
        return try await onThread {
            do {
                let app = try ConfinedDirectory(workspace.app, label: "the app")
                guard let source = try app.directory(path, links: .none) else {
                    throw BuildFailure("project.toml names the buildpack directory \(path), which the app does not have")
                }
                try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true) // farm-owned: the build's staged buildpacks
                try source.copyTree(into: ConfinedDirectory(destination, label: "the staged buildpack"), bounds: Self.appBuildpackBounds)
            } catch let error as ConfinedPathError {
                throw BuildFailure("the buildpack at \(path) in the app cannot be used: \(error)")
            }
            return try Self.descriptor(in: destination, label: "the app's \(path)")
        }
    }

    /// Pulls a buildpackage from the farm's registry and unpacks its layers
    /// (the archive extractor: nothing lands outside the directory), then
    /// reads every buildpack at `/cnb/buildpacks/ID_ESCAPED/VERSION/` in it.
    /// The main one is the one the buildpackage label names, else the only one.
    func pullBuildpackage(_ reference: String, index: Int, _ context: BuildContext) async throws -> (CNBBuildpackDescriptor, [CNBBuildpackDescriptor]) {
        guard let registry = configuration.registry else {
            throw BuildFailure("project.toml names the buildpackage \(reference), and this farm has no registry to pull it from: start the workers with --registry, or name a buildpack of the farm's by id")
        }
        let root = context.workspace.root
        let pulled: BuildpackageImage.Pulled
        do {
            pulled = try await BuildpackageImage(registry: registry).pull(reference, into: root.appendingPathComponent("cnb-pull-\(index)"))
        } catch let error as ImageError {
            throw BuildFailure(error.description)
        }
        let unpacked = root.appendingPathComponent("cnb-buildpacks/package-\(index)")
        return try await onThread {
            try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true) // farm-owned: the build's staged buildpacks
            var extractor = ArchiveExtractor(maxEntries: 100_000, maxBytes: 1 << 30)
            // Layers written with rooted names (/cnb/buildpacks/…) unpack beneath the directory all the same.
            extractor.rootedPathsAreRelative = true
            do {
                for layer in pulled.layers { _ = try extractor.extract(archive: layer, into: unpacked) }
            } catch let error as ArchiveError {
                throw BuildFailure("the buildpackage \(reference) cannot be unpacked: \(error)")
            }
            var found: [CNBBuildpackDescriptor] = []
            let top = try ConfinedDirectory(unpacked, label: "the buildpackage \(reference)")
            guard let buildpacks = try top.directory("cnb/buildpacks", links: .none) else {
                throw BuildFailure("the buildpackage \(reference) has no /cnb/buildpacks: it is not a buildpackage")
            }
            for id in try buildpacks.entries() where id.kind == .directory {
                for version in try buildpacks.directory(id.name, links: .none)?.entries() ?? [] where version.kind == .directory {
                    let directory = unpacked.appendingPathComponent("cnb/buildpacks/\(id.name)/\(version.name)")
                    found.append(try Self.descriptor(in: directory, label: "\(reference)'s \(id.name)/\(version.name)"))
                }
            }
            let main = found.first { $0.id == pulled.id && (pulled.version == nil || $0.version == pulled.version) } ?? (found.count == 1 ? found.first : nil)
            guard let main else {
                throw BuildFailure("the buildpackage \(reference) holds \(found.map(\.reference).joined(separator: ", ")) and its label names none of them: label it io.buildpacks.buildpackage.metadata with the main buildpack's id and version")
            }
            return (main, found)
        }
    }

    /// Fetches a buildpack as a classic one is fetched, then reads its buildpack.toml.
    func fetch(_ reference: BuildpackReference, _ context: BuildContext) async throws -> CNBBuildpackDescriptor {
        let fetched = try await resolver.resolve(reference, workspace: context.workspace.root.appendingPathComponent("cnb-buildpacks"), log: context.logLine)
        let descriptor = try await onThread { try Self.descriptor(in: fetched.directory, label: "\(reference)") }
        await context.log("-----> project.toml: \(descriptor.reference) from \(reference)")
        return descriptor
    }

    /// A downloaded or copied buildpack's buildpack.toml, read beneath its directory.
    static func descriptor(in directory: URL, label: String) throws -> CNBBuildpackDescriptor {
        do {
            guard let text = try ConfinedDirectory(directory, label: label).readText("buildpack.toml", cap: 1 << 20, links: .none) else {
                throw BuildFailure("\(label) has no buildpack.toml: it is not a Cloud Native Buildpack")
            }
            return try CNBBuildpackDescriptor.parse(text, file: "\(label)/buildpack.toml", directory: directory)
        } catch let error as CNBError {
            throw BuildFailure(error.message)
        } catch let error as ConfinedPathError {
            throw BuildFailure("\(label): \(error)")
        }
    }
}
