import Foundation
import KilnArchive
import KilnSlug

/// A few well-formed inputs per target, written at run time into the
/// corpus directory, so that libFuzzer starts from the shapes the parsers
/// accept instead of discovering them byte by byte.
enum FuzzSeeds {
    /// Writes the seeds of `target` into `directory` (created if missing).
    /// - Throws: when a seed cannot be made or written.
    static func write(for target: FuzzTarget, into directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (index, seed) in try seeds(for: target).enumerated() {
            try seed.write(to: directory.appendingPathComponent("seed-\(index)"))
        }
    }

    static func seeds(for target: FuzzTarget) throws -> [Data] {
        switch target {
        case .extract:
            let tree: [(ArchiveEntry, String)] = [
                (ArchiveEntry(path: "bin/", kind: .directory, permissions: 0o755), ""),
                (ArchiveEntry(path: "bin/run", kind: .file, permissions: 0o755), "#!/bin/sh\necho hi\n"),
                (ArchiveEntry(path: "a/b", kind: .symlink(target: ".."), permissions: 0o777), ""),
                (ArchiveEntry(path: "x", kind: .symlink(target: "a/b/bin/run"), permissions: 0o777), ""),
                (ArchiveEntry(path: "README", kind: .file, permissions: 0o644), "hello"),
            ]
            return try [ArchiveCompression.none, .gzip, .zstd].map { try archive(tree, compression: $0) }
        case .procfile:
            return ["web: bin/server -p $PORT\nworker: bundle exec sidekiq\n\n# a comment\nrelease: ./migrate\n", "web:bin/x\r\n"].map { Data($0.utf8) }
        case .buildpacks:
            return [
                "https://github.com/heroku/heroku-buildpack-ruby#v250\n# comment\nhttps://example.com/packs/node.tgz?token=1\ngit@github.com:kiln/pack.git#main\nelixir\n",
                "file:///srv/packs/local.tar.zst\n",
            ].map { Data($0.utf8) }
        case .release:
            return [
                "---\naddons:\n  - heroku-postgresql:hobby-dev\nconfig_vars:\n  LANG: \"en_US.UTF-8\"\ndefault_process_types:\n  web: \"bin/rails server -p $PORT -e \\\"$RAILS_ENV\\\"\"\n  worker: 'bin/jobs'\n",
                "addons: [a, 'b', \"c\"]\ndefault_process_types: {}\n",
            ].map { Data($0.utf8) }
        case .slugManifest:
            var manifest = SlugManifest(app: "shop", build: "b-41", commit: "0123abcd", sha256: String(repeating: "ab", count: 32), size: 1234,
                                        format: "tar.zst", processTypes: ["web": "bin/server"], buildpacks: ["elixir"], stack: "heroku-24",
                                        created: Date(timeIntervalSince1970: 1_700_000_000))
            var seeds: [Data] = []
            for keyID in [nil, FuzzTarget.farmKey.publicKey.id] {
                manifest.keyID = keyID
                manifest.configVars = ["LANG": "C.UTF-8"]
                let bytes = try manifest.encoded()
                let signature = try FuzzTarget.farmKey.sign(bytes)
                seeds.append(Data([UInt8(signature.count)]) + signature + bytes)
            }
            return seeds
        case .signedURL:
            let path = "/slugs/" + String(repeating: "0f", count: 32)
            return [4_000_000_000, 1_600_000_000].map { Data(FuzzTarget.urlSigner.signedPath(path, expires: $0).utf8) }
        }
    }

    private static func archive(_ entries: [(ArchiveEntry, String)], compression: ArchiveCompression) throws -> Data {
        var bytes = Data()
        let writer = try ArchiveWriter(compression: compression) { bytes.append(contentsOf: $0) }
        for (entry, content) in entries {
            if case .file = entry.kind { try writer.write(entry, contents: Data(content.utf8)) } else { try writer.writeHeader(entry) }
        }
        try writer.finish()
        return bytes
    }
}
