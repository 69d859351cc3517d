import Foundation
import KilnBlobStore
import KilnSigning
import KilnSlug
import KilnTestSupport
import Testing

@Suite struct SignedSlugTests {
    func signedSlug() throws -> (URL, LocalBlobStore, FarmKey, SignedSlug, URL) {
        let scratch = try TestEnvironment.temporaryDirectory()
        let store = try LocalBlobStore(root: scratch.appendingPathComponent("blobs"))
        let key = try FarmKey.loadOrCreate(at: scratch.appendingPathComponent("keys/farm.pem"))
        let tree = scratch.appendingPathComponent("tree")
        try writeFiles(["Procfile": "web: ./run\n"], in: tree)
        let packed = try SlugPacker().pack(tree, into: store)
        let manifest = SlugManifest(app: "hello", build: "b-1", commit: "abc", sha256: packed.digest.hex, size: packed.size,
                                    format: "tar.zst", processTypes: ["web": "./run"], buildpacks: ["procfile"], stack: "heroku-22", created: Date())
        return (scratch, store, key, try SignedSlug.sign(manifest, with: key, into: store), store.path(for: packed.digest))
    }

    @Test func theFarmKeyIsCreatedOwnerOnlyAndReloaded() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let path = scratch.appendingPathComponent("keys/farm.pem")
        let key = try FarmKey.loadOrCreate(at: path)
        var info = stat()
        stat(path.path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try FarmKey.loadOrCreate(at: path).publicKey == key.publicKey)
        chmod(path.path, 0o644)
        let error = #expect(throws: SigningError.self) { try FarmKey.load(from: path) }
        #expect(error?.message.contains("chmod 600") == true)
    }

    @Test func aSignedManifestVerifiesWithOpenSSLAndItsDigestMatchesTheSlug() async throws {
        let (scratch, store, key, signed, slug) = try signedSlug()
        let manifest = scratch.appendingPathComponent("manifest.json"), signature = scratch.appendingPathComponent("manifest.json.sig")
        let pem = scratch.appendingPathComponent("farm.pem")
        try store.copy(signed.manifestDigest, to: manifest)
        try store.copy(signed.signatureDigest, to: signature)
        try key.publicKey.pem.write(to: pem, atomically: true, encoding: .utf8)
        let verified = try await sh("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pem.path, "-rawin", "-in", manifest.path, "-sigfile", signature.path])
        #expect(verified.succeeded, "\(verified.output)")
        let sum = try await sh("sha256sum", [slug.path])
        #expect(sum.output.hasPrefix(signed.manifest.sha256))
        _ = try SignedSlug.verify(manifest: Data(contentsOf: manifest), signature: Data(contentsOf: signature), slug: slug, with: key.publicKey)
    }

    @Test func aTamperedManifestSignatureOrSlugIsRefused() throws {
        let (scratch, store, key, signed, slug) = try signedSlug()
        let manifest = try store.data(for: signed.manifestDigest), signature = try store.data(for: signed.signatureDigest)

        var forged = manifest
        forged.replaceSubrange(forged.range(of: Data("hello".utf8))!, with: Data("evil!".utf8))
        #expect(throws: SigningError.self) { try SignedSlug.verify(manifest: forged, signature: signature, slug: nil, with: key.publicKey) }

        var badSignature = signature
        badSignature[0] ^= 1
        #expect(throws: SigningError.self) { try SignedSlug.verify(manifest: manifest, signature: badSignature, slug: nil, with: key.publicKey) }

        let otherFarm = try FarmKey.loadOrCreate(at: scratch.appendingPathComponent("other.pem"))
        #expect(throws: SigningError.self) { try SignedSlug.verify(manifest: manifest, signature: signature, slug: nil, with: otherFarm.publicKey) }

        let copy = scratch.appendingPathComponent("slug.tar.zst")
        try FileManager.default.copyItem(at: slug, to: copy)
        let handle = try FileHandle(forWritingTo: copy)
        try handle.seekToEnd()
        handle.write(Data([0]))
        try handle.close()
        let error = #expect(throws: SigningError.self) { try SignedSlug.verify(manifest: manifest, signature: signature, slug: copy, with: key.publicKey) }
        #expect(error?.message.contains("altered") == true)
    }
}
