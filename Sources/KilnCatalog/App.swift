import Foundation

/// An application: one git repository, one stream of builds and releases.
public struct App: Codable, Sendable, Equatable {
    public var name: String
    /// The branch whose pushes are built; pushes to other branches are stored only.
    public var deployBranch: String
    public var createdAt: Date
    /// Whether its builds may reach the network (to fetch dependencies).
    public var buildNetwork: Bool
    /// The subdirectory of the pushed tree that is the app (a monorepo), or the whole tree.
    public var sourceDir: String?
    /// Files of the app whose contents also key its dependency cache, besides its builder's.
    public var cacheKeyFiles: [String]
    /// Bumped by each purge of the app's cache: part of its cache keys, so every worker starts it cold.
    public var cacheEpoch: Int
    /// Where each release is handed off to the release service (its secret is never shown).
    public var releaseWebhook: String?
    /// Whether a Dockerfile build gets the app's config vars as build args
    /// (off by default: build args are kept in the image's history).
    public var dockerBuildArgs: Bool
    /// Whether each buildpack build's slug is also exported as an OCI image.
    public var exportImage: Bool
    /// The stack its buildpack builds run on, by name: `host` (the worker's own system) or one of the workers' stacks directory.
    public var stack: String

    public init(name: String, deployBranch: String, createdAt: Date, buildNetwork: Bool = false, sourceDir: String? = nil,
                cacheKeyFiles: [String] = [], cacheEpoch: Int = 0, releaseWebhook: String? = nil, dockerBuildArgs: Bool = false, exportImage: Bool = false,
                stack: String = "host") {
        self.name = name
        self.deployBranch = deployBranch
        self.createdAt = createdAt
        self.buildNetwork = buildNetwork
        self.sourceDir = sourceDir
        self.cacheKeyFiles = cacheKeyFiles
        self.cacheEpoch = cacheEpoch
        self.releaseWebhook = releaseWebhook
        self.dockerBuildArgs = dockerBuildArgs
        self.exportImage = exportImage
        self.stack = stack
    }

    enum CodingKeys: String, CodingKey {
        case name
        case deployBranch = "deploy_branch"
        case createdAt = "created_at"
        case buildNetwork = "build_network"
        case sourceDir = "source_dir"
        case cacheKeyFiles = "cache_key_files"
        case cacheEpoch = "cache_epoch"
        case releaseWebhook = "release_webhook"
        case dockerBuildArgs = "docker_build_args"
        case exportImage = "export_image"
        case stack
    }

    /// Whether `path` may name a subdirectory of a pushed tree: relative,
    /// without `.` or `..` components or control characters, at most 255 characters.
    public static func isValidSourceDir(_ path: String) -> Bool {
        isRelativePath(path)
    }

    /// Whether `path` may name a file inside the app, the same way.
    public static func isRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 255, !path.hasPrefix("/") else { return false }
        // No control characters: a NUL is no file name, and the database refuses it.
        guard path.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// Whether `name` may be a deploy branch: a git branch name as
    /// `git check-ref-format --branch` allows it, at most 255 bytes (no spaces,
    /// control characters, `~ ^ : ? * [ \\`, `..`, `@{`, a leading `-` or a
    /// trailing `/`, `.` or `.lock`). It reaches git's hook environment and the
    /// database, neither of which takes a NUL.
    public static func isValidBranch(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix("-"), !name.hasPrefix("/"), name != "@" else { return false }
        guard !name.contains(".."), !name.contains("@{"), !name.contains("//"), !name.hasSuffix("/"), !name.hasSuffix("."), !name.hasSuffix(".lock") else { return false }
        let refused: Set<Character> = [" ", "~", "^", ":", "?", "*", "[", "\\"]
        return name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } && !name.contains(where: refused.contains)
            && !name.split(separator: "/").contains { $0.hasPrefix(".") }
    }

    /// Whether `name` may name a stack: lowercase letters, digits, dots and
    /// dashes, starting with a letter or digit, at most 63 characters (the
    /// workers' `KilnSandbox.Stack.isValidName` says the same; the catalog
    /// does not depend on the sandbox).
    public static func isValidStack(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, first != 46, first != 45 else { return false }
        return name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 46 }
    }

    /// Whether `name` may name an app: lowercase letters, digits and dashes,
    /// starting with a letter, at most 63 characters (a DNS label).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (97...122).contains(first), name.utf8.count <= 63 else { return false }
        return name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }
}
