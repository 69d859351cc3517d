import Foundation

/// What a Dockerfile would fetch by itself: `ADD` with a URL or a git
/// source (`ADD https://…`, `ADD git@host:repo`), which buildah downloads
/// outside the build's network namespace, so a build with its network off
/// must refuse it before buildah runs.
struct DockerfileFetches {
    /// One fetching instruction.
    struct Fetch: Equatable {
        /// The Dockerfile's line (1-based) where the instruction starts.
        let line: Int
        let instruction: String
        let source: String
    }

    /// The first instruction of `dockerfile` that fetches from the network, if any.
    static func first(in dockerfile: String) -> Fetch? {
        for (line, text) in instructions(dockerfile) {
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first?.uppercased(), keyword == "ADD" else { continue }
            var arguments = Array(words.dropFirst()).filter { !$0.hasPrefix("--") }
            // The JSON form: ADD ["src", ..., "dest"].
            if let first = arguments.first, first.hasPrefix("[") {
                let json = text.drop { $0 != "[" }
                arguments = (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? arguments
            }
            for source in arguments.dropLast() where fetches(source) {
                return Fetch(line: line, instruction: keyword, source: source)
            }
        }
        return nil
    }

    /// Whether an ADD source is remote: a URL with a scheme, or git's `user@host:path`.
    static func fetches(_ source: String) -> Bool {
        if let scheme = source.range(of: "://") {
            let name = source[..<scheme.lowerBound]
            return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || "+.-".contains($0) }
        }
        return source.firstMatch(of: /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/) != nil
    }

    /// The Dockerfile's instructions with their first line, continuation lines joined, comments left out.
    static func instructions(_ dockerfile: String) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var current = "", start = 0
        for (index, raw) in dockerfile.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if current.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if current.isEmpty { start = index + 1 }
            if line.hasSuffix("\\") {
                current += line.dropLast() + " "
            } else {
                current += line
                result.append((start, current))
                current = ""
            }
        }
        if !current.isEmpty { result.append((start, current)) }
        return result
    }
}
