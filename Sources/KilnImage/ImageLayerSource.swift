import Foundation
import KilnConfine

/// What one layer of a ``LayeredImage`` is made from: a directory's contents
/// placed at `path` in the image, entries given in memory, or a layer of the
/// app's previous image taken as it is.
public struct ImageLayerSource: Sendable {
    public enum Content: Sendable {
        /// A directory at a path of the farm's (its last component must not be a link);
        /// its contents are read beneath it, never through a link.
        case directory(URL)
        /// A directory already opened, e.g. beneath a build's directory with `links: .none`.
        case confined(ConfinedDirectory)
        /// Entries given in memory, each at its absolute path taken beneath `path` (normally `/`).
        case files([ImageLayerFile])
    }

    public var content: Content
    /// The absolute path in the image where the content goes, e.g. `/layers/x_y/node`.
    /// Its parents are written as directories owned by 0:0, mode 0755.
    public var path: String
    /// The owner of the content's entries (a directory's root included; not the parents above `path`).
    public var uid: Int
    public var gid: Int
    /// The image history's comment for the layer, and how the log names it.
    public var comment: String
    /// A layer digest (`sha256:…`) of the previous image, taken as it is instead of `content`.
    public var reuse: String?

    public init(content: Content, path: String = "/", uid: Int = 0, gid: Int = 0, comment: String, reuse: String? = nil) {
        self.content = content
        self.path = path
        self.uid = uid
        self.gid = gid
        self.comment = comment
        self.reuse = reuse
    }

    /// The contents of the directory `url` at `path` in the image.
    public static func directory(_ url: URL, at path: String, uid: Int = 0, gid: Int = 0, comment: String) -> ImageLayerSource {
        ImageLayerSource(content: .directory(url), path: path, uid: uid, gid: gid, comment: comment)
    }

    /// Entries given in memory, at their absolute paths.
    public static func files(_ files: [ImageLayerFile], uid: Int = 0, gid: Int = 0, comment: String) -> ImageLayerSource {
        ImageLayerSource(content: .files(files), path: "/", uid: uid, gid: gid, comment: comment)
    }

    /// The previous image's layer `digest`, as it is.
    public static func reused(_ digest: String, comment: String) -> ImageLayerSource {
        ImageLayerSource(content: .files([]), comment: comment, reuse: digest)
    }
}

/// One entry of a layer given in memory.
public struct ImageLayerFile: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A regular file, mode 0755 if `executable`, else 0644.
        case file(Data, executable: Bool)
        /// A symbolic link to the target, stored as it is.
        case link(String)
        /// A directory, mode 0755.
        case directory
    }

    /// Absolute, e.g. `/cnb/process/web`.
    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    public static func file(_ path: String, _ data: Data, executable: Bool = false) -> ImageLayerFile {
        ImageLayerFile(path: path, kind: .file(data, executable: executable))
    }

    public static func link(_ path: String, to target: String) -> ImageLayerFile {
        ImageLayerFile(path: path, kind: .link(target))
    }

    public static func directory(_ path: String) -> ImageLayerFile {
        ImageLayerFile(path: path, kind: .directory)
    }
}
