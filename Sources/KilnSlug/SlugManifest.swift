import Foundation

/// What a slug is: recorded beside it and signed with the farm's key, so that
/// a release service can trust every field after checking one signature.
public struct SlugManifest: Codable, Sendable, Equatable {
    /// The manifest format; bumped when a field changes meaning.
    public var schema: Int = 1
    public var app: String
    public var build: String
    public var commit: String?
    /// SHA-256 of the slug file, hex; for an image build (`format` `oci-image`), of the image's manifest.
    public var sha256: String
    public var size: Int64
    /// `tar.zst` or `tar.gz`, or `oci-image` for a Dockerfile build, whose product is ``image``.
    public var format: String
    public var processTypes: [String: String]
    public var buildpacks: [String]
    /// The stack the slug was built on, by its own name (`host` for the worker
    /// host's system, else a stack of the workers' stacks directory); `oci` for an image.
    public var stack: String
    /// The Heroku stack that stack stands in for, which buildpacks saw in `STACK` (`heroku-22`).
    public var herokuStack: String?
    public var created: Date
    /// Add-ons the buildpacks' `bin/release` asked for (Heroku provisions them on first release).
    public var addons: [String]?
    /// Default config vars from `bin/release`, for the release service to set where the app has none.
    public var configVars: [String: String]?
    /// The version of the app's config the build compiled with.
    public var configVersion: Int?
    /// The ID of the farm key that signed it (``FarmPublicKey/id``), so that
    /// a verifier holding several keys (`kiln keys public --all`) picks the right one.
    public var keyID: String?
    /// Set when the slug is a hot upgrade of the app's previous release.
    public var upgrade: SlugUpgrade?
    /// A Dockerfile build's image: the signature over this manifest covers its digest.
    public var image: Image?

    /// An image in the farm's registry, by digest.
    public struct Image: Codable, Sendable, Equatable {
        /// `REGISTRY/PREFIX/APP@sha256:…`.
        public var reference: String
        /// The ports its config EXPOSEs.
        public var ports: [Int]
        public init(reference: String, ports: [Int]) {
            self.reference = reference
            self.ports = ports
        }
    }

    /// The `format` of an image build's manifest.
    public static let imageFormat = "oci-image"

    enum CodingKeys: String, CodingKey {
        case schema, app, build, commit, sha256, size, format, buildpacks, stack, created, addons, upgrade, image
        case processTypes = "process_types"
        case configVars = "config_vars"
        case configVersion = "config_version"
        case keyID = "key_id"
        case herokuStack = "heroku_stack"
    }

    public init(app: String, build: String, commit: String?, sha256: String, size: Int64, format: String,
                processTypes: [String: String], buildpacks: [String], stack: String, created: Date) {
        self.app = app
        self.build = build
        self.commit = commit
        self.sha256 = sha256
        self.size = size
        self.format = format
        self.processTypes = processTypes
        self.buildpacks = buildpacks
        self.stack = stack
        self.created = created
    }

    /// The exact bytes that are signed: sorted keys, ISO 8601 dates, a final newline.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// Parses manifest bytes.
    public static func decode(_ data: Data) throws -> SlugManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(SlugManifest.self, from: data)
    }
}
