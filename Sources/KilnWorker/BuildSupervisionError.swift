/// Why the supervisor stopped a build.
enum BuildSupervisionError: Error, Equatable, CustomStringConvertible {
    case cancelled
    case leaseLost
    case timedOut(Duration)

    var description: String {
        switch self {
        case .cancelled: "cancelled"
        case .leaseLost: "this worker lost the build's lease; another worker retries it"
        case .timedOut(let limit): "the build ran longer than its limit of \(limit.components.seconds / 60) minutes and was stopped"
        }
    }
}
