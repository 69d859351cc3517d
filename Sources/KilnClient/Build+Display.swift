import Foundation
import KilnAPI

extension Components.Schemas.BuildState {
    /// Whether the build will not change any more.
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .superseded: true
        }
    }
}

extension Components.Schemas.Build {
    /// The phases in the order a build goes through them, as `timings` names them
    /// (the server's `Build.phases`; a phase it does not know is not shown).
    public static let phases = ["queue", "fetch", "detect", "restore", "compile", "save", "pack", "sign", "upload", "image", "handoff"]

    /// `queue 5 ms, fetch 12 ms, …` in phase order; empty without timings.
    public var timingSummary: String {
        guard let timings = timings?.additionalProperties else { return "" }
        return Self.phases.compactMap { phase in timings[phase].map { "\(phase) \(Self.format($0))" } }.joined(separator: ", ")
    }

    static func format(_ milliseconds: Int64) -> String {
        milliseconds < 10_000 ? "\(milliseconds) ms" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}
