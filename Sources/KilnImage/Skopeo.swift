import Foundation
import KilnProcess

/// skopeo, for what Kiln does with a registry outside a build: pull a base
/// image into an OCI layout, push a layout, read a manifest's exact bytes.
struct Skopeo: Sendable {
    var registry: RegistrySettings
    /// Longest one skopeo command may run (`--command-timeout`); `nil`: no limit.
    var timeout: Duration?

    init(registry: RegistrySettings, timeout: Duration? = nil) {
        self.registry = registry
        self.timeout = timeout
    }

    /// skopeo's global options, before its command.
    var globalOptions: [String] {
        timeout.map { ["--command-timeout", "\($0.components.seconds)s"] } ?? []
    }

    /// Whether `reference` lives in the farm's registry (its TLS and credentials apply).
    func isFarm(_ reference: String) -> Bool {
        reference.hasPrefix(registry.host + "/")
    }

    /// Another registry is read without credentials: skopeo would otherwise take the logins of the
    /// account the farm runs as (auth.json, ~/.docker/config.json) for a reference a user gave.
    func sourceOptions(_ reference: String) -> [String] {
        isFarm(reference) ? registry.options(tls: "--src-tls-verify", auth: "--src-authfile")
            : reference.hasPrefix("docker://") ? ["--src-no-creds"] : []
    }

    func destinationOptions(_ reference: String) -> [String] {
        isFarm(reference) ? registry.options(tls: "--dest-tls-verify", auth: "--dest-authfile") : []
    }

    /// Copies `source` (`docker://…`, `oci:DIR:TAG`, `dir:DIR`) to `destination`, byte for
    /// byte (`--preserve-digests`) unless told otherwise; returns the digest it wrote.
    @discardableResult
    func copy(_ source: String, _ destination: String, preservingDigests: Bool = true) async throws -> String {
        // skopeo reports the digest only in a file; an unguessable name of its own for each copy.
        let digestFile = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-skopeo-\(UUID().uuidString).digest")
        defer { try? FileManager.default.removeItem(at: digestFile) }
        let command = Command("/usr/bin/skopeo", globalOptions + ["copy", "--quiet"] + (preservingDigests ? ["--preserve-digests"] : []) + ["--digestfile", digestFile.path]
                              + sourceOptions(Self.location(source)) + destinationOptions(Self.location(destination)) + [source, destination])
        let outcome = try await command.run()
        guard outcome.succeeded else {
            throw ImageError("skopeo could not copy \(source) to \(destination): \(Self.reason(outcome.output))")
        }
        return try String(contentsOf: digestFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The manifest of `reference` as the registry stores it (its exact bytes), and its digest.
    func rawManifest(_ reference: ImageReference) async throws -> (Data, String) {
        let command = Command("/usr/bin/skopeo", globalOptions + ["inspect", "--raw"] + (isFarm(reference.repository) ? registry.options() : ["--no-creds"]) + [reference.transport])
        let outcome = try await command.capture()
        guard outcome.status == 0 else { throw ImageError("cannot read \(reference) from its registry: \(Self.reason(outcome.error))") }
        let data = Data(outcome.output)
        return (data, OCIDigest.of(data))
    }

    /// The image config of `reference` (`skopeo inspect --config`), as JSON bytes.
    func config(_ reference: ImageReference) async throws -> Data {
        let command = Command("/usr/bin/skopeo", globalOptions + ["inspect", "--config"] + (isFarm(reference.repository) ? registry.options() : ["--no-creds"]) + [reference.transport])
        let outcome = try await command.capture()
        guard outcome.status == 0 else { throw ImageError("cannot read the config of \(reference) from its registry: \(Self.reason(outcome.error))") }
        return Data(outcome.output)
    }

    /// `docker://HOST/…` → `HOST/…`; other transports are local.
    static func location(_ transport: String) -> String {
        transport.hasPrefix("docker://") ? String(transport.dropFirst(9)) : ""
    }

    /// The line of skopeo's output that says why.
    static func reason(_ output: String) -> String {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let line = lines.last(where: { $0.contains("level=fatal") || $0.hasPrefix("Error") || $0.hasPrefix("FATA") }) ?? lines.last ?? "no output"
        if let message = line.range(of: "msg=\"") {
            return String(line[message.upperBound...].dropLast(line.hasSuffix("\"") ? 1 : 0)).replacingOccurrences(of: "\\\"", with: "\"")
        }
        return line
    }
}
