import CGit2
import Foundation
import KilnArchive

/// A git repository opened with libgit2, read-only.
///
/// Not `Sendable`: libgit2 handles belong to the thread that uses them. Open
/// one, use it and drop it within one blocking call.
public final class GitRepository {
    private let handle: OpaquePointer
    private let path: String
    private let quarantine: String?

    /// Blobs up to this size are read through libgit2, which holds a blob
    /// whole in memory; larger ones stream through `git cat-file`.
    public static let streamingThreshold = 8 << 20
    /// Most bytes one file of an exported tree may have (a pushed file is
    /// someone else's choice); a larger one is refused with its path.
    public var maxFileSize: Int64 = 512 << 20

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
        self.path = path
        self.quarantine = quarantine?.isEmpty == false ? quarantine : nil
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
                let executable = git_tree_entry_filemode(entry) == GIT_FILEMODE_BLOB_EXECUTABLE
                let size = try blobSize(git_tree_entry_id(entry), path: entryPath)
                guard size <= maxFileSize else {
                    throw GitError("the pushed file \(entryPath) is \(size) bytes, over this farm's limit of \(maxFileSize) bytes for one file: keep it out of the repository (or in Git LFS) and fetch it at build time")
                }
                try writer.writeHeader(ArchiveEntry(path: entryPath, kind: .file, permissions: executable ? 0o755 : 0o644, size: size))
                if size > Self.streamingThreshold {
                    try streamBlob(git_tree_entry_id(entry), size: size, path: entryPath, into: writer)
                } else {
                    try check(git_tree_entry_to_object(&object, handle, entry), "cannot read \(entryPath)")
                    defer { git_object_free(object) }
                    try writer.writeData(UnsafeRawBufferPointer(start: git_blob_rawcontent(object), count: Int(git_blob_rawsize(object))))
                }
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

extension GitRepository {
    /// The size of a blob, read from its header without inflating it into memory.
    func blobSize(_ id: UnsafePointer<git_oid>?, path: String) throws -> Int64 {
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, handle), "cannot open the object database")
        defer { git_odb_free(odb) }
        var length = 0
        var type = GIT_OBJECT_ANY
        try check(git_odb_read_header(&length, &type, odb, id), "cannot read \(path)")
        return Int64(length)
    }

    /// Copies a large blob into `writer` in pieces, through `git cat-file`
    /// (libgit2 reads a packed object whole). The pushed objects still in
    /// quarantine are read as the hook sees them.
    func streamBlob(_ id: UnsafePointer<git_oid>?, size: Int64, path entryPath: String, into writer: ArchiveWriter) throws {
        var hex = [CChar](repeating: 0, count: Int(GIT_OID_HEXSZ) + 1)
        git_oid_tostr(&hex, hex.count, id)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["cat-file", "blob", String(cString: hex)]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
        environment["GIT_DIR"] = path
        if let quarantine {
            environment["GIT_OBJECT_DIRECTORY"] = quarantine
            environment["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = path + "/objects"
        }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var written: Int64 = 0
        let reader = pipe.fileHandleForReading
        while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
            written += Int64(chunk.count)
            guard written <= size else { break }
            try chunk.withUnsafeBytes { try writer.writeData($0) }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, written == size else {
            throw GitError("cannot read the pushed file \(entryPath): git cat-file gave \(written) of its \(size) bytes")
        }
    }
}

/// libgit2 wants one global initialisation per process.
enum GitLibrary {
    static let initialised: Bool = { git_libgit2_init() > 0 }()
}
