import Foundation
import KilnSlug

/// The file name of a downloaded slug: `slug.` and the format its manifest records.
enum SlugFile {
    static func name(format: String) -> String {
        // The format comes from a downloaded manifest: only the known ones name a file.
        ["tar.zst", "tar.gz", "tar"].contains(format) ? "slug.\(format)" : "slug.tar.zst"
    }

    static func name(manifest: URL) throws -> String {
        name(format: try SlugManifest.decode(Data(contentsOf: manifest)).format)
    }
}
