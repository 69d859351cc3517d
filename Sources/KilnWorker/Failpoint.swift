import Foundation

/// Places where tests kill the worker at the worst moment, to show what
/// survives it. When `KILN_FAILPOINTS` names a directory that holds a file
/// named after the point, the worker deletes the file (so that a restarted
/// worker goes on) and kills itself with SIGKILL there. Unset, as in any
/// real farm, a point costs one look at the environment.
enum Failpoint {
    /// After the slug, manifest and signature are uploaded, before the build's result is recorded.
    static let afterUpload = "after-upload"

    static func hit(_ name: String) {
        guard let directory = ProcessInfo.processInfo.environment["KILN_FAILPOINTS"], !directory.isEmpty else { return }
        if unlink(directory + "/" + name) == 0 { // farm-owned: the operator's failpoint directory
            kill(getpid(), SIGKILL)
        }
    }
}
