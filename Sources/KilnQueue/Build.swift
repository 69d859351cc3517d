import Foundation
import PostgresNIO

/// Where a build is in its life.
public enum BuildState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled, superseded

    /// Whether the build will not change any more.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .superseded: true
        }
    }
}

/// One build: a commit of an app on its way to a slug.
public struct Build: Codable, Sendable, Equatable {
    /// `b-N`, stable and human-sized.
    public var id: String
    public var seq: Int64
    public var app: String
    public var state: BuildState
    public var commit: String?
    public var branch: String?
    /// The source archive in the blob store.
    public var sourceDigest: String
    /// Purge the app's dependency cache first (`KILN-CLEAN: true`).
    public var clean: Bool
    /// Build a hot upgrade (`KILN-HOT: true`).
    public var hot: Bool
    public var attempts: Int
    public var worker: String?
    public var slugDigest: String?
    public var manifestDigest: String?
    public var signatureDigest: String?
    public var slugSize: Int64?
    /// The build's OCI image by digest (`REGISTRY/PREFIX/APP@sha256:…`): a
    /// Dockerfile build's only product, or a slug exported as an image.
    public var image: String?
    /// The ports the image's config EXPOSEs.
    public var imagePorts: [Int]?
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Milliseconds per phase (see ``phases``): `queue` from enqueue to the
    /// last claim, the pipeline's phases as the worker measured them, and
    /// `handoff` from the end of the build to the release service's 2xx.
    public var timings: [String: Int64]?

    enum CodingKeys: String, CodingKey {
        case id, seq, app, state, commit, branch, clean, hot, attempts, worker, error
        case sourceDigest = "source_digest"
        case slugDigest = "slug_digest"
        case manifestDigest = "manifest_digest"
        case signatureDigest = "signature_digest"
        case slugSize = "slug_size"
        case image
        case imagePorts = "image_ports"
        case timings
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    /// The columns ``init(row:)`` reads, in a SELECT or RETURNING list.
    static let columns = """
        seq, id, app, state, commit, branch, source_digest, clean, hot, attempts, worker,
        slug_digest, manifest_digest, signature_digest, slug_size, image, image_ports, error, created_at, started_at, finished_at,
        timings::text AS timings
        """

    init(row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        seq = try r["seq"].decode(Int64.self)
        id = try r["id"].decode(String.self)
        app = try r["app"].decode(String.self)
        let stateText = try r["state"].decode(String.self)
        guard let state = BuildState(rawValue: stateText) else { throw QueueError("unknown build state \(stateText) in the database") }
        self.state = state
        commit = try r["commit"].decode(String?.self)
        branch = try r["branch"].decode(String?.self)
        sourceDigest = try r["source_digest"].decode(String.self)
        clean = try r["clean"].decode(Bool.self)
        hot = try r["hot"].decode(Bool.self)
        attempts = try r["attempts"].decode(Int.self)
        worker = try r["worker"].decode(String?.self)
        slugDigest = try r["slug_digest"].decode(String?.self)
        manifestDigest = try r["manifest_digest"].decode(String?.self)
        signatureDigest = try r["signature_digest"].decode(String?.self)
        slugSize = try r["slug_size"].decode(Int64?.self)
        image = try r["image"].decode(String?.self)
        imagePorts = try r["image_ports"].decode([Int]?.self)
        error = try r["error"].decode(String?.self)
        createdAt = try r["created_at"].decode(Date.self)
        startedAt = try r["started_at"].decode(Date?.self)
        finishedAt = try r["finished_at"].decode(Date?.self)
        var timings = try r["timings"].decode(String?.self).flatMap { try? JSONDecoder().decode([String: Int64].self, from: Data($0.utf8)) } ?? [:]
        if let startedAt {
            timings["queue"] = Int64((startedAt.timeIntervalSince(createdAt) * 1000).rounded())
        }
        self.timings = timings.isEmpty ? nil : timings
    }

    /// The phases in the order a build goes through them, as `timings` names them (``BuildPhase``).
    public static let phases = BuildPhase.allCases.map(\.rawValue)

    /// `queue 5 ms, fetch 12 ms, …` in phase order; empty without timings.
    public var timingSummary: String {
        guard let timings else { return "" }
        return Self.phases.compactMap { phase in timings[phase].map { "\(phase) \(Self.format($0))" } }.joined(separator: ", ")
    }

    static func format(_ milliseconds: Int64) -> String {
        milliseconds < 10_000 ? "\(milliseconds) ms" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }

    static func encode(_ timings: [String: Int64]) -> String {
        (try? JSONEncoder().encode(timings)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
