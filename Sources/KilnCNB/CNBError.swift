import Foundation

/// A Cloud Native Buildpacks input Kiln refuses, or a detection that found
/// no group: the message names the file or buildpack and what to do.
public struct CNBError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
