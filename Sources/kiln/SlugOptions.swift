import ArgumentParser
import KilnArchive

/// How workers pack slugs: `kiln worker` and `kiln up` take the same options.
struct SlugOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case zstd, tgz
        var compression: ArchiveCompression { self == .zstd ? .zstd : .gzip }
    }

    @Option(help: "Slug compression: zstd, or tgz for consumers that expect Heroku's gzip slugs.") var slugFormat: Format = .zstd
    // Heroku's bounds: a warning above 300 MB, a refused slug above 500 MB. The older names stay accepted.
    @Option(name: [.customLong("slug-max-size"), .customLong("slug-size-limit")],
            help: "A bigger slug (compressed) fails its build, naming its biggest directories.") var slugSizeLimit = ByteSize(argument: "500MB")!
    @Option(name: [.customLong("slug-warn-size"), .customLong("slug-size-warning")],
            help: "A bigger slug gets a warning in the build's log, naming its biggest directories.") var slugSizeWarning = ByteSize(argument: "300MB")!

    /// The same options, for a `kiln worker` started by `kiln up`.
    var arguments: [String] {
        ["--slug-format", slugFormat.rawValue, "--slug-max-size", "\(slugSizeLimit.bytes)", "--slug-warn-size", "\(slugSizeWarning.bytes)"]
    }
}
