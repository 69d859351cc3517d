import Foundation
import KilnSigning

/// One build, start to finish, up to its release: the fetch phases every
/// build shares, then the pipeline of its kind, chosen once.
struct BuildLifecycle: Sendable {
    let configuration: WorkerConfiguration
    let key: FarmKey
    /// The farm's public keys, current and retired, for checking slugs signed before a rotation.
    let keys: [FarmPublicKey]
    let cache: DependencyCache

    func run(_ context: BuildContext) async throws -> Built {
        let kind = try await context.timer.measure(.fetch) { () async throws -> BuildKind in
            try await FetchSource().run(context)
            try await WriteConfig().run(context)
            return BuildKind.of(context.workspace)
        }
        return try await pipeline(for: kind).run(context)
    }

    func pipeline(for kind: BuildKind) -> any BuildPipeline {
        switch kind {
        case .slug: SlugPipeline(configuration: configuration, key: key, keys: keys, cache: cache)
        case .image: ImagePipeline(key: key)
        }
    }
}
