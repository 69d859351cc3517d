import Foundation
import KilnBuildpacks
import KilnSandbox
import KilnSigning
import KilnSlug

/// The sign phase of a slug: its manifest, signed over its exact bytes with the farm's key.
struct Sign {
    let key: FarmKey
    /// The stack the slug was built on: the manifest records its name and the Heroku name builds saw.
    let stack: Stack

    func run(_ context: BuildContext, packed: SlugPacker.Packed, compiled: Compiled, buildpacks: [Buildpack],
             upgrade: SlugUpgrade?) async throws -> SignedSlug {
        let release = compiled.declaration
        var manifest = SlugManifest(
            app: context.build.app, build: context.build.id, commit: context.build.commit,
            sha256: packed.digest.hex, size: packed.size, format: packed.format,
            processTypes: release.processTypes.commands, buildpacks: buildpacks.map(\.reference), stack: stack.name, created: Date())
        manifest.herokuStack = stack.heroku
        manifest.addons = release.addons.isEmpty ? nil : release.addons
        manifest.configVars = release.configVars.isEmpty ? nil : release.configVars
        manifest.configVersion = context.settings.config.version
        manifest.upgrade = upgrade
        let signed = try SignedSlug.sign(manifest, with: key, into: context.blobs.local)
        await context.log("-----> Manifest signed with the farm's key")
        return signed
    }
}
