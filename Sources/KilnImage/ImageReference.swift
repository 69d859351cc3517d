/// An image named by repository and digest (`HOST/REPO@sha256:HEX`), or by
/// a tag that a check resolves to one.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    /// `HOST/PATH`.
    public var repository: String
    public var tag: String?
    /// `sha256:HEX`.
    public var digest: String?

    public init(repository: String, tag: String? = nil, digest: String? = nil) {
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses `REPO[:TAG][@sha256:HEX]`, with or without `docker://`.
    public init(parsing text: String) throws {
        var rest = text.hasPrefix("docker://") ? String(text.dropFirst(9)) : text
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = String(rest[..<at])
            guard let digest, Self.isDigest(digest) else {
                throw ImageError("'\(text)' has no valid digest after @: expected sha256: and 64 hexadecimal digits")
            }
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        guard !rest.isEmpty, rest.contains("/") else {
            throw ImageError("'\(text)' is not an image reference: give HOST/REPOSITORY@sha256:… or HOST/REPOSITORY:TAG")
        }
        self.init(repository: rest, tag: tag, digest: digest)
    }

    /// The same image, by digest only.
    public func pinned(to digest: String) -> ImageReference {
        ImageReference(repository: repository, digest: digest)
    }

    public var description: String {
        repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// `docker://…`, as skopeo and buildah take it.
    var transport: String { "docker://" + description }

    static func isDigest(_ text: String) -> Bool {
        text.hasPrefix("sha256:") && text.utf8.count == 71 && text.dropFirst(7).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
