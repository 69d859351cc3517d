import ArgumentParser
import KilnArchive

/// How workers pack slugs: `kiln worker` and `kiln up` take the same options.
struct SlugOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case zstd, tgz
        var compression: ArchiveCompression { self == .zstd ? .zstd : .gzip }
    }

    @Option(help: "Slug compression: zstd, or tgz for consumers that expect Heroku's gzip slugs.") var slugFormat: Format = .zstd
    @Option(help: "A bigger slug (compressed) fails its build, naming its biggest directories.") var slugSizeLimit = ByteSize(argument: "1GB")!
    @Option(help: "A bigger slug gets a warning in the build's log.") var slugSizeWarning = ByteSize(argument: "300MB")!

    /// The same options, for a `kiln worker` started by `kiln up`.
    var arguments: [String] {
        ["--slug-format", slugFormat.rawValue, "--slug-size-limit", "\(slugSizeLimit.bytes)", "--slug-size-warning", "\(slugSizeWarning.bytes)"]
    }
}
