import ArgumentParser
import Foundation
import KilnHome
import KilnImage

/// The farm's OCI registry, for Dockerfile builds and exported slugs:
/// `kiln worker`, `kiln up` and `kiln images export` take the same options.
struct RegistryOptions: ParsableArguments {
    @Option(help: "The farm's OCI registry as HOST[:PORT]/PREFIX: Dockerfile apps are pushed there as PREFIX/APP, and the server copies images released by reference there (default: neither).")
    var registry: String?
    @Flag(help: "Reach the registry over plain HTTP or without checking its certificate (a loopback registry only).") var registryInsecure = false
    @Option(help: "The registry's credentials, a containers-auth.json file (as `buildah login` writes); else KILN_REGISTRY_USERNAME and KILN_REGISTRY_PASSWORD.")
    var registryAuthFile: String?
    @Option(help: "The stack image slugs are exported onto (default: REGISTRY_HOST/stacks/heroku-22).") var exportBaseImage: String?
    @Option(help: "A Dockerfile build whose context (the app's files) is bigger fails before it starts.") var imageContextLimit = ByteSize(argument: "500MB")!

    /// The registry's settings, with credentials from the environment written
    /// to `HOME/keys/registry-auth.json` (0600) for buildah and skopeo.
    func settings(home: URL) throws -> RegistrySettings? {
        guard let registry else {
            if exportBaseImage != nil || registryInsecure || registryAuthFile != nil {
                throw ValidationError("--registry-insecure, --registry-auth-file and --export-base-image need --registry HOST[:PORT]/PREFIX")
            }
            return nil
        }
        var settings: RegistrySettings
        do {
            settings = try RegistrySettings(registry, insecure: registryInsecure)
        } catch let error as ImageError {
            throw ValidationError(error.description)
        }
        if let registryAuthFile {
            guard FileManager.default.isReadableFile(atPath: registryAuthFile) else {
                throw ValidationError("--registry-auth-file \(registryAuthFile) cannot be read")
            }
            settings.authFile = URL(fileURLWithPath: registryAuthFile)
        } else if let user = ProcessInfo.processInfo.environment["KILN_REGISTRY_USERNAME"],
                  let password = ProcessInfo.processInfo.environment["KILN_REGISTRY_PASSWORD"] {
            let file = KilnHome(home).registryAuth
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let auth = Data("\(user):\(password)".utf8).base64EncodedString()
            let document = try JSONSerialization.data(withJSONObject: ["auths": [settings.host: ["auth": auth]]], options: [.sortedKeys])
            _ = FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
            try document.write(to: file)
            settings.authFile = file
        }
        return settings
    }

    /// The same options, for a `kiln worker` started by `kiln up`.
    var arguments: [String] {
        guard let registry else { return [] }
        return ["--registry", registry, "--image-context-limit", "\(imageContextLimit.bytes)"] + (registryInsecure ? ["--registry-insecure"] : [])
            + (registryAuthFile.map { ["--registry-auth-file", $0] } ?? []) + (exportBaseImage.map { ["--export-base-image", $0] } ?? [])
    }
}
