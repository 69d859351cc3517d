import Foundation
import Synchronization

/// What buildah's output said, read line by line as it streams: the steps,
/// the ones taken from a cache, and the error it ended with.
final class BuildReport: Sendable {
    private struct State {
        var steps = 0
        var cached = 0
        var currentStep: String?
        var error: String?
    }
    private let state = Mutex(State())

    func note(_ line: String) {
        state.withLock { state in
            if line.hasPrefix("STEP "), let colon = line.firstIndex(of: ":") {
                state.steps += 1
                state.currentStep = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("--> Using cache ") {
                state.cached += 1
            } else if line.hasPrefix("Error: ") {
                state.error = String(line.dropFirst(7))
            }
        }
    }

    var counts: (steps: Int, cached: Int) {
        state.withLock { ($0.steps, $0.cached) }
    }

    /// The build's error, naming the step: "`RUN npm ci` exited 1".
    func failure(status: Int32, registry: String) -> String {
        let (error, step) = state.withLock { ($0.error, $0.currentStep) }
        guard let error else {
            return "the image build failed (buildah exited \(status))" + (step.map { " at `\($0)`" } ?? "") + ": see the lines above"
        }
        if error.hasPrefix("building at STEP \""), let close = error.range(of: "\": ") {
            let failed = String(error[error.index(error.startIndex, offsetBy: 18)..<close.lowerBound])
            let reason = String(error[close.upperBound...])
            if let range = reason.range(of: "exit status ") {
                return "`\(failed)` exited \(reason[range.upperBound...].prefix { $0.isNumber })"
            }
            if let range = reason.range(of: "Unknown instruction: ") {
                let instruction = reason[range.upperBound...].split(separator: " ").first ?? ""
                return "the Dockerfile does not parse: unknown instruction \(instruction) (in `\(step ?? failed)`)"
            }
            return "`\(failed)` failed: \(reason)"
        }
        if error.hasPrefix("failed pushing cache to") {
            let reason = error.components(separatedBy: ": ").suffix(2).joined(separator: ": ")
            return "the registry \(registry) refused the push of the layer cache (\(reason)): check the farm's registry credentials and that it accepts pushes"
        }
        if let image = Self.fromImage(error), error.contains("initializing source") || error.contains("pulling image") || error.contains("creating build container") {
            return "FROM \(image): the image cannot be pulled (\(error)); check its name, and that the farm's workers reach its registry"
        }
        if error.contains("parse") || error.contains("Dockerfile") {
            return "the Dockerfile does not parse: \(error)"
        }
        return "the image build failed: \(error)"
    }

    /// The image named in a pull error: `docker://HOST/REPO:TAG: reading …`.
    static func fromImage(_ error: String) -> String? {
        guard let start = error.range(of: "docker://") else { return nil }
        let rest = error[start.upperBound...]
        // The reference ends at the first ": " (the tag's colon has no space after it).
        return rest.range(of: ": ").map { String(rest[..<$0.lowerBound]) } ?? String(rest)
    }
}
