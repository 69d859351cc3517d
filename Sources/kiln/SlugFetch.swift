import ArgumentParser
import Foundation
import KilnAPI
import KilnClient
import KilnSigning
import KilnSlug

extension SlugCommand {
    /// `kiln slug url BUILD_ID`: a signed, expiring URL of the build's slug.
    struct URLCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "url", abstract: "Print a signed URL of a build's slug, valid for --ttl.")
        @Argument(help: "The build id (b-N).") var id: String
        @Option(help: "How long the URL stays valid: 900, 90s, 15m, 2h, 7d (at most 7d).") var ttl: TimeSpan = TimeSpan(argument: "15m")!
        @Flag(help: "Print JSON (url, sha256, expires).") var json = false

        func run() async throws {
            let signed = try await KilnClient.fromEnvironment().call { try await $0.createSlugURL(path: .init(id: id), query: .init(ttl: ttl.seconds)).ok.body.json }
            // One line of JSON, as the server writes it.
            if json { emit(try Output.compactJSON(signed)); return }
            emit(signed.url)
        }
    }

    /// `kiln slug fetch URL`: what a release service does with a hand-off.
    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a slug by signed URL, with its manifest and signature, and verify all three; nothing is left on a mismatch.")
        @Argument(help: "A signed slug URL (from `kiln slug url` or a release hand-off).") var url: String
        @Option(help: "The farm's public key (PEM), obtained once from a trusted place (`kiln farm-keys public`).") var publicKey: String
        @Option(help: "The farm server to ask which keys are revoked (default: KILN_SERVER, else the URL's server when it is https).") var revocationsFrom: String?
        @Flag(help: "Ask no server which keys are revoked, and trust every key in --public-key (a revoked key left in it still verifies).") var offline = false
        @Option(name: .shortAndLong, help: "Directory to write the slug (slug.tar.zst or slug.tar.gz), manifest.json and manifest.json.sig to.") var output: String = "."

        func run() async throws {
            guard let slugURL = URL(string: url), let components = URLComponents(url: slugURL, resolvingAgainstBaseURL: false),
                  components.path.hasPrefix("/slugs/"), let query = components.percentEncodedQuery else {
                throw ValidationError("\(url) is not a signed slug URL (http(s)://HOST/slugs/SHA256?expires=…&signature=…)")
            }
            let digest = String(components.path.dropFirst("/slugs/".count))
            // Whoever answers "which keys are revoked" can hide a revocation: ask the farm server the user
            // trusts, and the URL's own server (whoever made the URL, or sits between) only over https.
            var origin = components
            origin.path = ""
            origin.percentEncodedQuery = nil
            origin.fragment = nil
            let server: URL?
            if let revocationsFrom {
                server = URL(string: revocationsFrom)
            } else if let configured = ProcessInfo.processInfo.environment["KILN_SERVER"], !configured.isEmpty {
                server = URL(string: configured)
            } else if origin.scheme?.lowercased() == "https" {
                server = origin.url
            } else {
                server = nil
            }
            guard offline || server != nil else {
                throw ValidationError("no trusted server to ask which farm keys are revoked: the URL is not https; set KILN_SERVER or --revocations-from to the farm's server, or pass --offline to trust --public-key as it is")
            }
            let key = try await FarmKeySource.pinned(publicKey, revocationsFrom: offline ? nil : server.map { KilnClient(server: $0, token: nil) })
            let directory = URL(fileURLWithPath: output)
            let created = !FileManager.default.fileExists(atPath: directory.path)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let partial = ["slug", "manifest.json", "manifest.json.sig"].map { directory.appendingPathComponent(".\($0).partial-\(getpid())") }
            do {
                var base = components
                for (index, suffix) in ["", "/manifest.json", "/manifest.json.sig"].enumerated() {
                    base.path = components.path + suffix
                    base.percentEncodedQuery = query
                    try await KilnClient.download(base.url!, to: partial[index])
                }
                let manifest = try SignedSlug.verify(manifest: try Data(contentsOf: partial[1]), signature: try Data(contentsOf: partial[2]),
                                                     slug: partial[0], with: key)
                guard manifest.sha256 == digest else {
                    throw SigningError("the URL names slug \(digest) but the signed manifest is of \(manifest.sha256): refusing it")
                }
                for (index, name) in [SlugFile.name(format: manifest.format), "manifest.json", "manifest.json.sig"].enumerated() {
                    let final = directory.appendingPathComponent(name)
                    try? FileManager.default.removeItem(at: final)
                    try FileManager.default.moveItem(at: partial[index], to: final)
                }
                emit("verified: \(manifest.app) \(manifest.build), sha256 \(manifest.sha256), \(manifest.size) bytes in \(directory.path)")
            } catch {
                for file in partial { try? FileManager.default.removeItem(at: file) }
                if created { try? FileManager.default.removeItem(at: directory) }
                throw error
            }
        }
    }
}
