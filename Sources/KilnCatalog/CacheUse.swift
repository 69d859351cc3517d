/// How an app's builds used the dependency cache, added up over its builds.
public struct CacheUse: Codable, Sendable, Equatable {
    public var app: String
    /// Builds that restored their dependencies.
    public var hits: Int64
    /// Builds that found nothing for their key and built cold.
    public var misses: Int64
    /// Builds that met a missing or corrupt object, or a store that failed, and built cold.
    public var faults: Int64
    public var filesRestored: Int64
    public var bytesRestored: Int64
    /// Bytes of new objects builds added to the store (what was already stored costs nothing).
    public var bytesSaved: Int64

    public init(app: String, hits: Int64 = 0, misses: Int64 = 0, faults: Int64 = 0, filesRestored: Int64 = 0, bytesRestored: Int64 = 0, bytesSaved: Int64 = 0) {
        self.app = app
        self.hits = hits
        self.misses = misses
        self.faults = faults
        self.filesRestored = filesRestored
        self.bytesRestored = bytesRestored
        self.bytesSaved = bytesSaved
    }

    enum CodingKeys: String, CodingKey {
        case app, hits, misses, faults
        case filesRestored = "files_restored"
        case bytesRestored = "bytes_restored"
        case bytesSaved = "bytes_saved"
    }
}
