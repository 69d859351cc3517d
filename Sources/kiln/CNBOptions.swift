import ArgumentParser
import Foundation
import KilnCNB
import KilnWorker

/// Cloud Native Buildpacks on a worker: where the farm's buildpacks are,
/// the orders it knows as builders, and the run image CNB apps get.
/// `kiln worker` and `kiln up` take the same options (docs/cnb.md).
struct CNBOptions: ParsableArguments {
    @Option(help: "The farm's CNB buildpacks, laid out as a builder's /cnb/buildpacks: ID (with / written _)/VERSION/buildpack.toml (default: HOME/cnb/buildpacks).")
    var cnbBuildpacks: String?
    @Option(help: "The order.toml apps without project.toml or paastech/buildpacks.yaml are detected against before the classic buildpacks (default: none).")
    var cnbOrder: String?
    @Option(parsing: .singleValue, help: "A builder paastech/buildpacks.yaml may name, as NAME=ORDER_FILE (an order.toml over --cnb-buildpacks); repeatable.")
    var cnbBuilder: [String] = []
    @Option(help: "The launcher CNB app images start with, as scripts/build-launcher.sh makes it (default: kiln-launcher beside the kiln binary).")
    var cnbLauncher: String?
    @Option(help: "The run image CNB app images are built on, in the farm's registry (default: the stack's run image, else --export-base-image).")
    var cnbRunImage: String?

    /// Sets the CNB part of `configuration` (after its registry); a builder
    /// that is not NAME=FILE, an order file that is missing or malformed, or
    /// a CNB option without a registry is refused by name.
    func apply(to configuration: inout WorkerConfiguration, home: URL) throws {
        try check(hasRegistry: configuration.registry != nil)
        if let cnbBuildpacks { configuration.cnbBuildpacksDirectory = URL(fileURLWithPath: cnbBuildpacks).standardizedFileURL }
        if let cnbOrder { configuration.cnbOrder = URL(fileURLWithPath: cnbOrder).standardizedFileURL }
        for (name, file) in try builders() { configuration.cnbBuilders[name] = URL(fileURLWithPath: file).standardizedFileURL }
        configuration.cnbRunImage = cnbRunImage
        if let cnbLauncher { configuration.cnbLauncher = URL(fileURLWithPath: cnbLauncher).standardizedFileURL }
    }

    /// `--cnb-builder NAME=FILE` as pairs; one that is not NAME=FILE is refused.
    func builders() throws -> [(String, String)] {
        try cnbBuilder.map { builder in
            let parts = builder.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--cnb-builder \(builder) is not NAME=ORDER_FILE, e.g. paketobuildpacks/builder:full=/etc/kiln/cnb/full.toml")
            }
            return (parts[0], parts[1])
        }
    }

    /// The options that only make sense with a registry, refused without one.
    func check(hasRegistry: Bool) throws {
        if !hasRegistry, cnbOrder != nil || !cnbBuilder.isEmpty || cnbRunImage != nil {
            throw ValidationError("--cnb-order, --cnb-builder and --cnb-run-image need --registry HOST[:PORT]/PREFIX: CNB apps build into images")
        }
        if let cnbOrder { try Self.check(cnbOrder, option: "--cnb-order") }
        for (name, file) in try builders() { try Self.check(file, option: "--cnb-builder \(name)") }
    }

    /// An order file, read and parsed when the worker starts: a bad one
    /// stops it with the file's line, rather than fail every build.
    static func check(_ path: String, option: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("\(option) \(path) cannot be read") }
        do {
            _ = try CNBOrder.parse(text, file: path)
        } catch let error as CNBError {
            throw ValidationError("\(option): \(error.message)")
        }
    }

    /// The same options, for a `kiln worker` started by `kiln up`.
    var arguments: [String] {
        (cnbBuildpacks.map { ["--cnb-buildpacks", $0] } ?? []) + (cnbOrder.map { ["--cnb-order", $0] } ?? [])
            + cnbBuilder.flatMap { ["--cnb-builder", $0] } + (cnbRunImage.map { ["--cnb-run-image", $0] } ?? [])
            + (cnbLauncher.map { ["--cnb-launcher", $0] } ?? [])
    }
}
