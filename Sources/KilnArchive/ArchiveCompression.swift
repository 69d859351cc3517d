/// The compression applied around a tar stream.
public enum ArchiveCompression: String, Sendable, Codable, CaseIterable {
    /// zstd: Kiln's default for slugs and source archives.
    case zstd
    /// gzip, for Heroku-compatible consumers of a slug.
    case gzip
    /// No compression.
    case none

    /// The file name suffix of a tar with this compression.
    public var fileExtension: String {
        switch self {
        case .zstd: "tar.zst"
        case .gzip: "tar.gz"
        case .none: "tar"
        }
    }
}
