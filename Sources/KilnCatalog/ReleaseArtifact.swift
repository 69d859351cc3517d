import Foundation
import KilnQueue

/// What a release ships: a build's slug or image, or an image released by
/// reference (`kiln releases create --image`), which no build made and whose
/// image, ports and signed manifest the release itself records. Listings,
/// hand-offs and hot upgrades read a release's artifact through this one
/// value, whichever made it.
public struct ReleaseArtifact: Sendable, Equatable {
    /// The build that made it (its `seq`); `nil` for an image released by reference.
    public var buildSeq: Int64?
    /// `b-N`; `nil` for an image released by reference.
    public var build: String?
    public var commit: String?
    /// When the build ended: a deploy's hand-off time is measured from it.
    public var builtAt: Date?
    /// `nil` for an image's release.
    public var slugDigest: String?
    public var slugSize: Int64?
    /// `REGISTRY/PREFIX/APP@sha256:…`, when it has an image.
    public var image: String?
    /// The ports the image EXPOSEs.
    public var ports: [Int]?
    /// The signed manifest and its signature, as blobs.
    public var manifestDigest: String?
    public var signatureDigest: String?

    public init(buildSeq: Int64? = nil, build: String? = nil, commit: String? = nil, builtAt: Date? = nil, slugDigest: String? = nil, slugSize: Int64? = nil,
                image: String? = nil, ports: [Int]? = nil, manifestDigest: String? = nil, signatureDigest: String? = nil) {
        self.buildSeq = buildSeq
        self.build = build
        self.commit = commit
        self.builtAt = builtAt
        self.slugDigest = slugDigest
        self.slugSize = slugSize
        self.image = image
        self.ports = ports
        self.manifestDigest = manifestDigest
        self.signatureDigest = signatureDigest
    }

    /// An image that no build made, with the manifest the farm signed for it.
    public static func image(_ reference: String, ports: [Int], manifestDigest: String, signatureDigest: String) -> ReleaseArtifact {
        ReleaseArtifact(image: reference, ports: ports, manifestDigest: manifestDigest, signatureDigest: signatureDigest)
    }

    /// What a build's release ships: its slug (`slugDigest`, `nil` for an
    /// image build), and the rest from the build (`product`, when the queue still holds it).
    init(buildSeq: Int64, slugDigest: String?, product: BuildProduct?) {
        self.init(buildSeq: buildSeq, build: product?.id, commit: product?.commit, builtAt: product?.finishedAt, slugDigest: slugDigest,
                  slugSize: product?.slugSize, image: product?.image, ports: product?.imagePorts,
                  manifestDigest: product?.manifestDigest, signatureDigest: product?.signatureDigest)
    }
}
