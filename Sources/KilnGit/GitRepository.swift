import CGit2
import KilnArchive

/// A git repository opened with libgit2, read-only.
///
/// Not `Sendable`: libgit2 handles belong to the thread that uses them. Open
/// one, use it and drop it within one blocking call.
public final class GitRepository {
    private let handle: OpaquePointer

    /// Opens the bare or non-bare repository at `path`.
    ///
    /// - Parameter quarantine: the object directory that git's receive-pack
    ///   keeps a push's objects in until its pre-receive hook accepts them
    ///   (`GIT_QUARANTINE_PATH`). Objects there are readable as if pushed.
    public init(path: String, quarantine: String? = nil) throws {
        _ = GitLibrary.initialised
        var repo: OpaquePointer?
        try check(git_repository_open_bare(&repo, path), "cannot open the repository \(path)")
        guard let repo else { throw GitError("cannot open the repository \(path)") }
        handle = repo
        if let quarantine, !quarantine.isEmpty {
            var odb: OpaquePointer?
            try check(git_repository_odb(&odb, repo), "cannot open the object database")
            defer { git_odb_free(odb) }
            try check(git_odb_add_disk_alternate(odb, quarantine), "cannot read the pushed objects in \(quarantine)")
        }
    }

    deinit { git_repository_free(handle) }

    /// The submodules of `commit`: the gitlinks of its tree that its
    /// `.gitmodules` names. A gitlink `.gitmodules` does not describe is an
    /// error naming its path.
    public func submodules(of commit: String) throws -> [Submodule] {
        try withTree(of: commit) { tree in try submodules(in: tree) }
    }

    private func submodules(in tree: OpaquePointer) throws -> [Submodule] {
        var gitmodules: OpaquePointer?
        guard git_tree_entry_bypath(&gitmodules, tree, ".gitmodules") == 0, let gitmodules else { return [] }
        defer { git_tree_entry_free(gitmodules) }
        var blob: OpaquePointer?
        try check(git_tree_entry_to_object(&blob, handle, gitmodules), "cannot read .gitmodules")
        defer { git_object_free(blob) }
        let text = String(decoding: UnsafeRawBufferPointer(start: git_blob_rawcontent(blob), count: Int(git_blob_rawsize(blob))), as: UTF8.self)

        var found: [Submodule] = []
        for section in Submodule.parseGitmodules(text) {
            guard let path = section.path, let url = section.url else {
                throw GitError(".gitmodules: submodule \(section.name) needs both a path and a url")
            }
            var entry: OpaquePointer?
            guard git_tree_entry_bypath(&entry, tree, path) == 0, let entry else { continue } // described but not in this commit's tree
            defer { git_tree_entry_free(entry) }
            guard git_tree_entry_filemode(entry) == GIT_FILEMODE_COMMIT else { continue }
            var hex = [CChar](repeating: 0, count: 41)
            git_oid_tostr(&hex, 41, git_tree_entry_id(entry))
            found.append(Submodule(name: section.name, path: path, url: url, commit: String(cString: hex)))
        }
        return found
    }

    /// Writes the tree of `commit` (a full hex id) into `writer`, every path
    /// under `prefix` when it is not empty. Submodule entries are skipped.
    /// Returns the number of entries written.
    @discardableResult
    public func exportTree(commit: String, into writer: ArchiveWriter, prefix: String = "") throws -> Int {
        try withTree(of: commit) { tree in
            var count = 0
            try export(tree: tree, path: prefix, writer: writer, count: &count)
            return count
        }
    }

    /// Runs `body` with the root tree of `commit` (a full hex id).
    private func withTree<T>(of commit: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        var oid = git_oid()
        try check(git_oid_fromstr(&oid, commit), "\(commit) is not a commit id")
        var commitHandle: OpaquePointer?
        try check(git_commit_lookup(&commitHandle, handle, &oid), "commit \(commit) is not in the repository")
        defer { git_commit_free(commitHandle) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commitHandle), "cannot read the tree of \(commit)")
        defer { git_tree_free(tree) }
        return try body(tree!)
    }

    private func export(tree: OpaquePointer, path: String, writer: ArchiveWriter, count: inout Int) throws {
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            let name = String(cString: git_tree_entry_name(entry))
            let entryPath = path.isEmpty ? name : path + "/" + name
            var object: OpaquePointer?
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                try check(git_tree_entry_to_object(&object, handle, entry), "cannot read \(entryPath)")
                defer { git_object_free(object) }
                try writer.writeHeader(ArchiveEntry(path: entryPath + "/", kind: .directory, permissions: 0o755))
                count += 1
                try export(tree: object!, path: entryPath, writer: writer, count: &count)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                try check(git_tree_entry_to_object(&object, handle, entry), "cannot read \(entryPath)")
                defer { git_object_free(object) }
                let executable = git_tree_entry_filemode(entry) == GIT_FILEMODE_BLOB_EXECUTABLE
                let size = Int(git_blob_rawsize(object))
                let bytes = UnsafeRawBufferPointer(start: git_blob_rawcontent(object), count: size)
                try writer.writeHeader(ArchiveEntry(path: entryPath, kind: .file, permissions: executable ? 0o755 : 0o644, size: Int64(size)))
                try writer.writeData(bytes)
                count += 1
            case GIT_FILEMODE_LINK:
                try check(git_tree_entry_to_object(&object, handle, entry), "cannot read \(entryPath)")
                defer { git_object_free(object) }
                let size = Int(git_blob_rawsize(object))
                let target = String(decoding: UnsafeRawBufferPointer(start: git_blob_rawcontent(object), count: size), as: UTF8.self)
                try writer.writeHeader(ArchiveEntry(path: entryPath, kind: .symlink(target: target), permissions: 0o777))
                count += 1
            default:
                continue // GIT_FILEMODE_COMMIT: a submodule, fetched separately
            }
        }
    }
}

/// libgit2 wants one global initialisation per process.
enum GitLibrary {
    static let initialised: Bool = { git_libgit2_init() > 0 }()
}
