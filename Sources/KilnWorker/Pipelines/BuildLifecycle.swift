import Foundation
import KilnSigning

/// One build, start to finish, up to its release: the fetch phases every
/// build shares, then the pipeline of its kind, chosen once.
struct BuildLifecycle: Sendable {
    let configuration: WorkerConfiguration
    let key: FarmKey
    /// The farm's public keys, current and retired, for checking slugs signed before a rotation, and its revocations.
    let keys: TrustedFarmKeys
    let cache: DependencyCache

    func run(_ context: BuildContext) async throws -> Built {
        let kind = try await context.timer.measure(.fetch) { () async throws -> BuildKind in
            try await FetchSource().run(context)
            try await WriteConfig().run(context)
            return try BuildKind.of(context.workspace, settings: context.settings, configuration: configuration)
        }
        do {
            return try await pipeline(for: kind).run(context)
        } catch let fallBack as FallBackToSlug {
            await context.log("-----> The farm's CNB order passed no group; building with the classic buildpacks. The detection said:")
            for line in fallBack.why.split(separator: "\n").prefix(20) { await context.log("       \(line)") }
            return try await pipeline(for: .slug).run(context)
        }
    }

    func pipeline(for kind: BuildKind) -> any BuildPipeline {
        switch kind {
        case .slug: SlugPipeline(configuration: configuration, key: key, keys: keys, cache: cache)
        case .image: ImagePipeline(key: key)
        case .cnb(let request):
            CNBPipeline(configuration: configuration, key: key, request: request,
                        cache: CNBLayerCache(local: cache.local, shared: cache.shared))
        }
    }
}
