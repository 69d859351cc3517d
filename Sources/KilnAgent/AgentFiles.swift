import Foundation

/// Reading the agent's own record files at start.
enum AgentFiles {
    /// The file's bytes; `nil` only when it does not exist. Any other failure
    /// (permissions, a directory in its place, an I/O error) is an error that
    /// names the file: the agent does not start over from nothing in its place.
    static func readIfPresent(_ file: URL) throws -> Data? {
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw AgentError("\(file.path) cannot be read: \(String(cString: strerror(code))); fix it (or move it away to start over) and start the agent again")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw AgentError("\(file.path) cannot be read: \(error); fix it (or move it away to start over) and start the agent again")
        }
    }
}
