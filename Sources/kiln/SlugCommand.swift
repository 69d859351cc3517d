import ArgumentParser
import Foundation
import KilnArchive
import KilnAPI
import KilnBlobStore
import KilnClient
import KilnSigning
import KilnSlug

/// `kiln slug get|url|fetch|verify|pack`.
struct SlugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slug", abstract: "Download, sign URLs of, fetch and verify slugs.", subcommands: [Get.self, URLCommand.self, Fetch.self, Verify.self, Pack.self, Unpack.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a build's slug, manifest and signature into a directory.")
        @Argument(help: "The build id (b-N).") var id: String
        @Option(name: .shortAndLong, help: "Directory to write the slug (slug.tar.zst or slug.tar.gz), manifest.json and manifest.json.sig to.") var output: String = "."

        func run() async throws {
            let client = try KilnClient.fromEnvironment()
            let directory = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try await client.download("api/builds/\(id)/manifest", to: directory.appendingPathComponent("manifest.json"))
            try await client.download("api/builds/\(id)/signature", to: directory.appendingPathComponent("manifest.json.sig"))
            let name = try SlugFile.name(manifest: directory.appendingPathComponent("manifest.json"))
            try await client.download("api/builds/\(id)/slug", to: directory.appendingPathComponent(name))
            emit("\(directory.path)/\(name), manifest.json, manifest.json.sig")
        }
    }

    struct Pack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pack a directory into a slug file, as a worker does (deterministic tar.zst under app/).")
        @Argument(help: "The built app's directory.") var directory: String
        @Option(name: .shortAndLong, help: "The slug file to write.") var output: String
        @Option(help: "zstd, or tgz as Heroku's slugs.") var format: SlugOptions.Format = .zstd

        func run() async throws {
            let destination = URL(fileURLWithPath: output)
            // Packed through a blob store beside the output, exactly as a worker packs.
            let scratch = destination.deletingLastPathComponent().appendingPathComponent(".kiln-pack-\(getpid())")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let store = try LocalBlobStore(root: scratch)
            // A file for the user, as tar writes one: not fsynced (a worker's slugs are).
            let packed = try SlugPacker(compression: format.compression).pack(URL(fileURLWithPath: directory), into: store, durable: false)
            try? FileManager.default.removeItem(at: destination)
            try FileManager.default.moveItem(at: store.path(for: packed.digest), to: destination)
            emit("\(packed.digest) \(packed.size) bytes, \(packed.entries) entries")
        }
    }

    struct Unpack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unpack a slug (tar.zst or tar.gz) safely: no entry may leave the directory.")
        @Argument(help: "The slug file.") var slug: String
        @Option(name: .customShort("C"), help: "The directory to unpack into (created).") var directory: String

        func run() async throws {
            let destination = URL(fileURLWithPath: directory)
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            let summary = try ArchiveExtractor().extract(archive: URL(fileURLWithPath: slug), into: destination)
            emit("\(summary.entries) entries, \(summary.bytes) bytes in \(destination.path)")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify a downloaded slug against its signed manifest and the farm's public key; a revoked key's signature is refused.")
        @Argument(help: "Directory holding the slug (slug.tar.zst or slug.tar.gz), manifest.json and manifest.json.sig.") var directory: String = "."
        @Option(help: "The farm's public keys (PEM, one or several: `kiln farm-keys public --all`); by default fetched from KILN_SERVER. Which are revoked is asked of KILN_SERVER either way.") var key: String?
        @Flag(help: "With --key: do not ask KILN_SERVER which keys are revoked, and trust every key in the file (a revoked key left in it still verifies).") var offline = false

        func run() async throws {
            let keys: TrustedFarmKeys
            if let key {
                keys = try await FarmKeySource.pinned(key, revocationsFrom: try FarmKeySource.revocationServer(offline: offline, keys: key))
            } else {
                guard !offline else { throw ValidationError("--offline needs --key FILE: without it the keys come from KILN_SERVER") }
                keys = try await FarmKeySource.server(try KilnClient.fromEnvironment())
            }
            let base = URL(fileURLWithPath: directory)
            let manifest = try SignedSlug.verify(
                manifest: try Data(contentsOf: base.appendingPathComponent("manifest.json")),
                signature: try Data(contentsOf: base.appendingPathComponent("manifest.json.sig")),
                slug: base.appendingPathComponent(try SlugFile.name(manifest: base.appendingPathComponent("manifest.json"))),
                with: keys)
            emit("verified: \(manifest.app) \(manifest.build), sha256 \(manifest.sha256), \(manifest.size) bytes")
        }
    }
}
