/// A submodule of a commit: where `.gitmodules` puts it, where it comes
/// from, and the commit the tree pins.
public struct Submodule: Sendable, Equatable {
    public var name: String
    public var path: String
    public var url: String
    public var commit: String

    public init(name: String, path: String, url: String, commit: String) {
        self.name = name
        self.path = path
        self.url = url
        self.commit = commit
    }

    /// The `[submodule "name"]` sections of a `.gitmodules` file, as (name, path, url).
    static func parseGitmodules(_ text: String) -> [(name: String, path: String?, url: String?)] {
        var sections: [(name: String, path: String?, url: String?)] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("[submodule"), let open = line.firstIndex(of: "\""), let close = line.lastIndex(of: "\""), open < close {
                sections.append((String(line[line.index(after: open)..<close]), nil, nil))
                continue
            }
            guard !sections.isEmpty, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if key == "path" { sections[sections.count - 1].path = value }
            if key == "url" { sections[sections.count - 1].url = value }
        }
        return sections
    }
}
