import KilnQueue
import KilnSlug

/// What every pipeline hands the ``RecordRelease`` phase: the result the queue
/// records, and the signed manifest the release is made from.
struct Built: Sendable {
    let result: BuildResult
    let signed: SignedSlug

    /// How the build's last log line names what it made.
    var product: String {
        result.slugDigest.map { "slug sha256:\($0)" + (result.image.map { ", image \($0)" } ?? "") } ?? "image \(result.image ?? "")"
    }
}
