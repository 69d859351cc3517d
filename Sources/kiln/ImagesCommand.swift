import ArgumentParser
import Foundation
import KilnBlobStore
import KilnDatabase
import KilnHome
import KilnImage
import KilnQueue
import KilnS3
import KilnSigning

/// `kiln images export|verify` (also spelled `kiln image`).
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "Export slugs as OCI images, and verify images the farm signed.",
                                                    subcommands: [Export.self, Verify.self], aliases: ["image"])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Export a succeeded build's slug as an OCI image in the farm's registry, signed; run where a worker runs \
            (its home holds the farm key and reaches the blobs). The same slug gives the same image digest on every worker.
            """)
        @Argument(help: "The build id (b-N).") var id: String
        @OptionGroup var home: HomeOptions
        @Option(help: "PostgreSQL URL (default: KILN_DATABASE_URL, else the private PostgreSQL of `kiln up` in the home).") var databaseURL: String?
        @OptionGroup var blobs: BlobStoreOptions
        @OptionGroup var images: RegistryOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = KilnLogging.bootstrap(defaultLevel: .warning)
            let home = home.homeURL
            guard let registry = try images.settings(home: home) else {
                throw ValidationError("give the farm's registry: --registry HOST[:PORT]/PREFIX (as the workers have it)")
            }
            let url = databaseURL ?? ProcessInfo.processInfo.environment["KILN_DATABASE_URL"]
                ?? LocalPostgres(directory: KilnHome(home).postgres, logger: logger).url
            let keyFile = KilnHome(home).farmKey
            let key = try FarmKey.load(from: keyFile)
            let keys = try FarmKeyring.load(current: key, keyFile: keyFile).trusted
            let storage = try BlobStorage.open(directory: KilnHome(home).blobs, s3: try blobs.settings())
            let base = images.exportBaseImage ?? registry.defaultStackImage
            let exported = try await Database.with(url: try DatabaseURL(url), logger: logger) { database in
                let queue = BuildQueue(database: database)
                guard let build = try await queue.build(id: id) else { throw ValidationError("there is no build \(id)") }
                guard build.state == .succeeded, let manifest = build.manifestDigest.flatMap(BlobDigest.init),
                      let signature = build.signatureDigest.flatMap(BlobDigest.init) else {
                    throw ValidationError("build \(id) is \(build.state.rawValue): only a succeeded build's slug can be exported")
                }
                let scratch = KilnHome(home).work.appendingPathComponent("export-\(id)-\(getpid())")
                let exported = try await SlugExport(registry: registry, base: base, key: key, keys: keys)
                    .export(manifestDigest: manifest, signatureDigest: signature, blobs: storage, scratch: scratch) { line in
                        if !json { emit(line) }
                    }
                try await queue.recordImage(build: id, image: exported.reference.description, ports: exported.config.ports)
                return exported
            }
            if json {
                try Output.json(["build": id, "image": exported.reference.description, "digest": exported.reference.digest ?? ""])
            } else {
                emit(exported.reference.description)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that the farm signed an image: its signature in the registry, against the farm's public key; a revoked key's signature is refused.")
        @Argument(help: "The image: REGISTRY/REPOSITORY@sha256:… (or :TAG, checked by the digest it names now).") var reference: String
        @Option(help: "The farm's public keys (PEM, one or several: `kiln farm-keys public --all`). Which are revoked is asked of KILN_SERVER.") var publicKey: String
        @Flag(help: "Do not ask KILN_SERVER which keys are revoked, and trust every key in --public-key (a revoked key left in it still verifies).") var offline = false
        @Flag(help: "Reach the registry over plain HTTP or without checking its certificate (a loopback registry only).") var insecure = false
        @Option(help: "The registry's credentials, a containers-auth.json file.") var authFile: String?

        func run() async throws {
            let image: ImageReference
            let registry: RegistrySettings
            do {
                image = try ImageReference(parsing: reference)
                let host = String(image.repository.prefix { $0 != "/" })
                registry = try RegistrySettings(host, insecure: insecure, authFile: authFile.map { URL(fileURLWithPath: $0) })
            } catch let error as ImageError {
                throw ValidationError(error.description)
            }
            let keys = try await FarmKeySource.pinned(publicKey, revocationsFrom: try FarmKeySource.revocationServer(offline: offline, keys: publicKey))
            var template = Array((FileManager.default.temporaryDirectory.path + "/kiln-verify.XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { throw ValidationError("cannot create a temporary directory: \(String(cString: strerror(errno)))") }
            let scratch = URL(fileURLWithPath: String(cString: made))
            defer { try? FileManager.default.removeItem(at: scratch) }
            do {
                let (digest, claims) = try await ImageSignature(registry: registry).verify(image, keys: keys, scratch: scratch)
                // An image released by reference was made by no build.
                let build = claims.build.isEmpty ? "released by reference" : "build \(claims.build)"
                emit("Verified: \(image.repository)@\(digest) was signed by farm key \(claims.keyID) (app \(claims.app), \(build))")
            } catch let error as ImageError {
                try? FileHandle.standardError.write(contentsOf: Data("kiln: image NOT verified: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
