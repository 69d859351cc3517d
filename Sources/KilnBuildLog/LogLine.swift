import Foundation

/// One line of a build's log.
public struct LogLine: Codable, Sendable, Equatable {
    /// Position in the log, from 1; a follower resumes after the last it saw.
    public var number: Int
    public var text: String
    public var at: Date

    public init(number: Int, text: String, at: Date) {
        self.number = number
        self.text = text
        self.at = at
    }
}
