import KilnCache

/// One builder's dependencies in one build: its key, the directories of the
/// app they are, and whether they were restored (then nothing is saved).
struct CachePlan: Sendable {
    let builder: String
    let key: CacheKey
    let directories: [String]
    var restored = false

    var digest: String { key.digest }
}
