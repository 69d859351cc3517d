import Foundation
import Hummingbird
import KilnBlobStore
import KilnCatalog
import KilnDownload
import KilnImage
import KilnProcess
import KilnSigning
import KilnSlug
import Logging

/// An image released by reference (`POST /api/apps/{app}/releases`,
/// `kiln releases create --image`), which no build made, in the order of a
/// Dockerfile build's last phases: check the reference (a digest, never a
/// tag) → bring it into the farm's registry (``KilnImage/ImageImport``:
/// copied with its digest kept, its config read) → sign a manifest naming
/// it exactly as a Dockerfile build's (`format` `oci-image`), and push the
/// farm's signature beside the image (``KilnImage/ImageSigning``) → publish
/// the manifest and its signature to the blob store → record the release
/// (``KilnCatalog/Catalog/releaseImage(app:artifact:description:)``, with its
/// hand-off) → tag the image `vN`.
struct ImageRelease: Sendable {
    let registry: RegistrySettings
    let catalog: Catalog
    let blobs: BlobStorage
    /// The farm key's file: read for each release, so that a rotated key signs from the next one on.
    let keyFile: URL
    /// What the server may fetch from: an image in another registry is fetched through the same address guard as a build's fetches.
    let policy: FetchPolicy
    let scratch: URL
    let logger: Logger

    /// Releases `text` as `app`'s next release, on behalf of `actor`
    /// (`admin` or `key-N`). Throws a 400 for a reference that is not one or
    /// names no digest, a 403 for another app's image in the farm's registry
    /// unless `administrator` (the farm reads it with its own credentials,
    /// which an app's key must not borrow), a 422 for an image that cannot be
    /// fetched, copied, read or started, a 404 for no such app.
    func release(app: String, image text: String, by actor: String, administrator: Bool) async throws -> Release {
        let source = try Self.digestReference(text)
        guard let digest = source.digest else { throw HTTPError(.badRequest, message: "'\(text.prefix(200))' names no digest") }
        if !administrator, let owner = registry.owner(of: source), owner != app {
            throw HTTPError(.forbidden, message: "\(source.repository) is the app \(owner)'s repository in the farm's registry: an app's key releases its own app's images only (an administrator may release another's)")
        }
        // An app's key reaches no registry but the farm's, and there only its own repository: the farm would
        // otherwise connect wherever a reference (and the registry's redirects and token realm) points.
        if !administrator, Self.registryHost(of: source).lowercased() != registry.host.lowercased() || registry.owner(of: source) != app {
            throw HTTPError(.forbidden, message: "an app's key releases images of its own repository in the farm's registry only (\(registry.repository(app: app))@sha256:…), not \(source.repository.prefix(200)): push the image there, or ask an administrator to release it")
        }
        if Self.registryHost(of: source) != registry.host {
            let name = Self.hostName(Self.registryHost(of: source))
            do {
                _ = try await policy.checkedAddresses(host: name, port: 443, url: source.description)
            } catch let refused as FetchRefused {
                throw HTTPError(.unprocessableContent, message: refused.description)
            }
        }
        let imported: ImageImport.Imported
        do {
            imported = try await ImageImport(registry: registry).bring(source, app: app) { config in
                guard config.webCommand != nil else {
                    throw ImageError("\(source) has neither ENTRYPOINT nor CMD: nothing says how its web process starts; give an image that sets one")
                }
            }
        } catch let error as ImageError {
            throw HTTPError(.unprocessableContent, message: "\(error)")
        }
        let web = imported.config.webCommand ?? ""
        let key = try FarmKey.load(from: keyFile)
        let config = try await catalog.configVersion(app: app)
        var manifest = SlugManifest(app: app, build: "", commit: nil, sha256: String(digest.dropFirst(7)), size: imported.size,
                                    format: SlugManifest.imageFormat, processTypes: ["web": web], buildpacks: [], stack: "oci", created: Date())
        manifest.configVersion = config
        manifest.image = SlugManifest.Image(reference: imported.reference.description, ports: imported.config.ports)
        let signed = try await onThread { [blobs, manifest] in try SignedSlug.sign(manifest, with: key, into: blobs.local) }
        let work = scratch.appendingPathComponent("image-release-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        do {
            try await ImageSigning(key: key, registry: registry).sign(imported.reference, app: app, build: "", scratch: work) { [logger] line in
                logger.info("image release", metadata: ["app": "\(app)", "image": "\(imported.reference)", "step": "\(line)"])
            }
        } catch let error as ImageError {
            throw HTTPError(.unprocessableContent, message: "\(error)")
        }
        try await onThread { [blobs] in
            for blob in [signed.manifestDigest, signed.signatureDigest] { try blobs.publish(blob) }
        }
        let release = try await catalog.releaseImage(
            app: app, artifact: .image(imported.reference.description, ports: imported.config.ports,
                                       manifestDigest: signed.manifestDigest.hex, signatureDigest: signed.signatureDigest.hex),
            description: "Deploy image \(source.repository)@\(digest.prefix(19)) by \(actor)")
        do {
            // As a build's image: a convenience for people browsing the registry, and it keeps the manifest tagged.
            try await ImageTagger(registry: registry).tag(imported.reference, as: "v\(release.version)")
        } catch {
            logger.warning("cannot tag the released image", metadata: ["image": "\(imported.reference)", "error": "\(error)"])
        }
        logger.info("image released", metadata: ["app": "\(app)", "version": "\(release.version)", "image": "\(imported.reference)",
                                                 "copied": "\(imported.copied)"])
        return release
    }

    /// `text` as an image reference by digest (a tag beside the digest is dropped: the digest decides).
    /// A 400 for what is not a reference, and for a tag alone, saying why a tag is refused.
    static func digestReference(_ text: String) throws -> ImageReference {
        let reference: ImageReference
        do {
            reference = try ImageReference(parsing: text)
        } catch let error as ImageError {
            throw HTTPError(.badRequest, message: "\(error)")
        }
        guard let digest = reference.digest else {
            throw HTTPError(.badRequest, message: "'\(text.prefix(200))' names the image by a tag: a tag can be moved to another image after the release names it, so a release takes a digest only: give REPOSITORY@sha256:… (`skopeo inspect docker://\(text.prefix(200))` prints its Digest now)")
        }
        return ImageReference(repository: reference.repository, digest: digest)
    }

    /// `HOST[:PORT]` without its port: `[::1]:5000` → `::1`, `registry.example.com:5000` → `registry.example.com`.
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[host.index(after: host.startIndex)..<close]) }
        return host.split(separator: ":", maxSplits: 1).first.map(String.init) ?? host
    }

    /// The registry a reference lives in, as Docker reads one: the first
    /// component when it looks like a host (a `.`, a `:` or `localhost`),
    /// else Docker Hub's.
    static func registryHost(of reference: ImageReference) -> String {
        let first = String(reference.repository.prefix { $0 != "/" })
        return first.contains(".") || first.contains(":") || first == "localhost" ? first : "registry-1.docker.io"
    }
}
