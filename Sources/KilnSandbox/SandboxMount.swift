import Foundation

/// A host directory made visible inside the sandbox at a fixed path.
public struct SandboxMount: Sendable, Equatable {
    public var host: URL
    public var inside: String
    public var writable: Bool

    public init(host: URL, inside: String, writable: Bool) {
        self.host = host
        self.inside = inside
        self.writable = writable
    }
}
