/// What an app's deployer does next, in the order asked.
enum DeployJob: Sendable {
    /// A hand-off that passed every check.
    case handoff(HandoffCheck.Verified)
    /// The release recorded as current, started again when the agent starts.
    case restart(CurrentRelease)
}
