/// A deploy step that failed; the message is the reason reported to Kiln and
/// shown in the agent's deploys ("web exited with status 1 before answering: …").
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// An error whose message is the reason, as it is reported.
    public init(_ description: String) { self.description = description }
}
