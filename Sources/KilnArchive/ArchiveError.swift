/// An error from reading, writing or unpacking an archive.
///
/// Every case names the archive entry or the file involved, so that a build
/// log line says which part of a push or a source archive was at fault.
public struct ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable code for scripts and tests.
    public enum Code: String, Sendable {
        /// libarchive could not read the data: not an archive, or truncated.
        case malformed
        /// An entry would land outside the destination directory.
        case unsafeEntry
        /// The output could not be written.
        case writeFailed
        /// The input file could not be opened.
        case openFailed
        /// Past a limit: entries, unpacked bytes, or the length or depth of a path.
        case tooLarge
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
