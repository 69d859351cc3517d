/// Why the supervisor stopped a build.
enum BuildSupervisionError: Error, Equatable, CustomStringConvertible {
    case cancelled
    case timedOut(Duration)

    var description: String {
        switch self {
        case .cancelled: "cancelled"
        case .timedOut(let limit): "the build ran longer than its limit of \(limit.components.seconds / 60) minutes and was stopped"
        }
    }
}
