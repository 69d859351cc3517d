import KilnCatalog

/// What an SSH client asks to run, for git: `git-receive-pack 'APP.git'`
/// (a push) or `git-upload-pack 'APP.git'` (a fetch or clone). Nothing else
/// is run, and the repository is named by the app alone: no path of the
/// client's reaches the file system.
public struct GitSSHRequest: Sendable, Equatable {
    public var service: GitHTTPBackend.Service
    public var app: String

    /// Parses an SSH exec command; the error says what Kiln serves instead.
    ///
    /// git sends `git-receive-pack '/APP.git'` for `ssh://HOST/APP.git` and
    /// `git-receive-pack 'APP.git'` for `HOST:APP.git`; `git receive-pack`
    /// (with a space) and a name without `.git` are taken too.
    public init(command: String) throws {
        var words = command.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.first == "git", words.count > 1 {
            words = ["git-" + words[1]] + words.dropFirst(2)
        }
        let usage = "Kiln serves git only: push with `git push ssh://git@HOST:PORT/APP.git`, clone with `git clone ssh://git@HOST:PORT/APP.git`"
        guard let first = words.first, let service = GitHTTPBackend.Service(rawValue: first) else {
            throw ReceiverError("'\(Self.printable(command))' is not a command Kiln runs. \(usage)")
        }
        guard words.count == 2 else {
            throw ReceiverError("\(first) takes one repository, APP.git. \(usage)")
        }
        var path = words[1]
        if path.count >= 2, path.hasPrefix("'"), path.hasSuffix("'") { path = String(path.dropFirst().dropLast()) }
        while path.hasPrefix("/") { path.removeFirst() }
        if path.hasSuffix("/") { path.removeLast() }
        let app = path.hasSuffix(".git") ? String(path.dropLast(4)) : path
        guard App.isValidName(app) else {
            throw ReceiverError("'\(Self.printable(words[1]))' is not a repository here: repositories are named APP.git, one per app")
        }
        self.service = service
        self.app = app
    }

    /// A stranger's text as messages and logs show it: at most `limit`
    /// characters, printable ASCII only, so that it cannot forge a log line.
    public static func printable(_ text: String, limit: Int = 80) -> String {
        String(text.prefix(limit).map { character in
            guard let value = character.asciiValue, value >= 0x20, value != 0x7f else { return "?" }
            return character
        })
    }
}
