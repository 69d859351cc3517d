import Foundation
import KilnProcess

/// Turns a slug into an OCI image: a stack base image, the slug as one layer
/// at `/app`, the process types as labels, `web` as the command, and the slug
/// manifest's signature digest as an annotation. Everything that goes in is
/// fixed by the slug, its signed manifest and the base, so the same slug on
/// the same base gives the same image digest wherever it is exported.
public struct SlugImage: Sendable {
    public var registry: RegistrySettings
    /// The stack image slugs run on, e.g. `registry.example.com/stacks/heroku-22`.
    public var base: String

    public init(registry: RegistrySettings, base: String) {
        self.registry = registry
        self.base = base
    }

    /// What the slug needs to become an image.
    public struct Slug: Sendable {
        public var file: URL
        public var sha256: String
        public var processTypes: [String: String]
        /// The blob digests (hex) of the slug's signed manifest and of its signature.
        public var manifestDigest: String
        public var signatureDigest: String

        public init(file: URL, sha256: String, processTypes: [String: String], manifestDigest: String, signatureDigest: String) {
            self.file = file
            self.sha256 = sha256
            self.processTypes = processTypes
            self.manifestDigest = manifestDigest
            self.signatureDigest = signatureDigest
        }
    }

    /// The image as pushed.
    public struct Exported: Sendable {
        public var reference: ImageReference
        public var config: ImageConfig
    }

    /// Builds the image in `scratch` and pushes it as `REPO/APP:tag`; returns it by digest.
    public func export(_ slug: Slug, app: String, tag: String, scratch: URL,
                       log: @escaping @Sendable (String) async -> Void) async throws -> Exported {
        let export = try ExportLayout(scratch: scratch, registry: registry)
        let layout = export.layout
        let pulled = try await export.pullBase(base, what: "the stack image",
                                               advice: "build and push it, or point --export-base-image at one the workers reach")
        let baseDigest = pulled.digest, baseLayers = pulled.layers
        var config = pulled.config

        let layer = try await onThread { try SlugLayer.write(slug: slug.file, scratch: scratch, into: layout) }
        var runtime = config["config"] as? [String: Any] ?? [:]
        var environment = (runtime["Env"] as? [String] ?? []).filter { !$0.hasPrefix("HOME=") }
        environment.append("HOME=/app")
        runtime["Env"] = environment
        runtime["WorkingDir"] = "/app"
        runtime["Entrypoint"] = nil
        if let web = slug.processTypes["web"] {
            runtime["Cmd"] = ["/bin/sh", "-c", Self.profileScript + web]
        } else {
            runtime["Cmd"] = nil
        }
        var labels = runtime["Labels"] as? [String: String] ?? [:]
        for (name, command) in slug.processTypes { labels["dev.kiln.process.\(name)"] = command }
        labels["dev.kiln.slug.sha256"] = slug.sha256
        runtime["Labels"] = labels
        config["config"] = runtime
        var rootfs = config["rootfs"] as? [String: Any] ?? ["type": "layers"]
        rootfs["diff_ids"] = (rootfs["diff_ids"] as? [String] ?? []) + [layer.diffID]
        config["rootfs"] = rootfs
        config["history"] = (config["history"] as? [[String: Any]] ?? []) + [[
            "created": "1970-01-01T00:00:00Z", "created_by": "kiln: slug sha256:\(slug.sha256) at /app", "comment": "slug",
        ]]
        let configDescriptor = try layout.write(try OCILayout.encode(config), mediaType: OCILayout.configType)

        let manifest: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": OCILayout.manifestType,
            "config": configDescriptor.json,
            "layers": baseLayers + [layer.descriptor.json],
            "annotations": [
                "dev.kiln.slug.manifest": "sha256:" + slug.manifestDigest,
                "dev.kiln.slug.signature": "sha256:" + slug.signatureDigest,
                "org.opencontainers.image.base.name": base,
                "org.opencontainers.image.base.digest": baseDigest,
            ],
        ]
        let target = ImageReference(repository: registry.repository(app: app), tag: tag)
        let pushed = try await export.push(manifest, as: target, registry: registry.host)
        await log("-----> Slug exported as \(pushed) (layer \(layer.descriptor.digest.prefix(19)), \(layer.descriptor.size) bytes, on \(base))")
        return Exported(reference: pushed, config: try ImageConfig(json: OCILayout.encode(config)))
    }

    /// Sources `.profile.d/*.sh` as Heroku's dynos do before a process starts.
    static let profileScript = #"for f in /app/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; "#
}
