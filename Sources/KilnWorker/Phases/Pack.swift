import Foundation
import KilnArchive
import KilnConfine
import KilnProcess
import KilnSlug

/// The pack phase: the built app (or the release tarball compile took) into
/// a deterministic slug in the blob store, in the farm's slug format, held
/// to the slug size limits.
struct Pack {
    func run(_ context: BuildContext, compiled: Compiled) async throws -> SlugPacker.Packed {
        let configuration = context.configuration
        let packer = SlugPacker(compression: configuration.slugCompression), blobs = context.blobs
        let app = try await Self.slugDirectory(context, releaseOutput: compiled.releaseOutput)
        let packed = try await onThread { try packer.pack(app, into: blobs.local) }
        await context.log("-----> Slug packed: \(packed.size) bytes, \(packed.entries) entries, \(packed.format), \(packed.digest)")
        guard packed.size > configuration.slugSizeWarning || packed.size > configuration.slugSizeLimit else { return packed }
        let biggest = try await onThread { Self.biggestDirectories(in: app) }.map { "\($0.path) \(Figures.bytes($0.bytes))" }.joined(separator: ", ")
        if packed.size > configuration.slugSizeLimit {
            // Not kept: no release may use it, and it is big.
            try? FileManager.default.removeItem(at: blobs.local.path(for: packed.digest)) // farm-owned: the blob store
            throw BuildFailure("""
                the slug is \(Figures.bytes(packed.size)) compressed, over this farm's limit of \(Figures.bytes(configuration.slugSizeLimit)). \
                Biggest directories (uncompressed): \(biggest.isEmpty ? "none" : biggest). Leave build-only files out of the app directory
                """)
        }
        await context.log("""
             !     Warning: the slug is \(Figures.bytes(packed.size)), over \(Figures.bytes(configuration.slugSizeWarning)): big slugs are slow to fetch and to start. \
            Biggest directories (uncompressed): \(biggest.isEmpty ? "none" : biggest)
            """)
        return packed
    }

    /// What becomes the slug's `app/`: the build directory, or the release
    /// tarball a buildpack left as its output, unpacked.
    static func slugDirectory(_ context: BuildContext, releaseOutput: ReleaseOutput?) async throws -> URL {
        let workspace = context.workspace
        guard let releaseOutput else { return workspace.app }
        let directory = workspace.root.appendingPathComponent("release-slug")
        do {
            _ = try await onThread { try ArchiveExtractor().extract(archive: releaseOutput.file, into: directory) }
        } catch let error as ArchiveError {
            throw BuildFailure("the release tarball the buildpack left in CACHE_DIR/out cannot be unpacked: \(error)")
        }
        return directory
    }

    /// The five biggest directories one or two levels down, by the bytes of their files.
    static func biggestDirectories(in root: URL) -> [(path: String, bytes: Int64)] {
        var sizes: [String: Int64] = [:]
        try? ConfinedDirectory(root, label: "the app").walk { relative, entry, _ in
            guard entry.kind == .regular else { return }
            let components = relative.split(separator: "/").dropLast()
            for depth in 1...2 where components.count >= depth {
                sizes[components.prefix(depth).joined(separator: "/"), default: 0] += entry.size
            }
        }
        return sizes.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(5).map { ($0.key, $0.value) }
    }
}
