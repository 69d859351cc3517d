/// Resolves a symbolic link's target the way the kernel would, one component
/// at a time and following the links met on the way, to tell whether it stays
/// beneath the root it was extracted into.
///
/// Paths are relative to the root, `/`-separated and normalised (no `.`, no
/// `..`, no empty components), as ``ArchiveExtractor`` keeps them. A component
/// that names no link counts as a directory: if nothing is there the kernel
/// would fail the lookup, which is no escape, and if a later entry puts a link
/// there the extractor's final check over every link sees it. Pure: all it
/// knows of the tree comes from `targetOf`.
struct LinkResolver {
    /// How many links one resolution may follow before it counts as a loop
    /// (the kernel's MAXSYMLINKS: past it `open` fails with ELOOP).
    static let maxFollows = 40

    /// Where a link's target ends up.
    enum Outcome: Equatable {
        /// Beneath the root, at this path (empty for the root itself).
        case inside(String)
        /// Above the root, or at an absolute path, after following these links (in the order met).
        case outside(through: [String])
        /// More than ``maxFollows`` links were followed; these are the links of the loop.
        case loop(through: [String])
    }

    /// Resolves the link at `link` pointing at `target`.
    /// - Parameter targetOf: the target of the link at a path, or `nil` where there is no link.
    static func resolve(link: String, target: String, targetOf: (String) -> String?) -> Outcome {
        if target.hasPrefix("/") { return .outside(through: []) }
        // The link's target is read from the link's directory, so the walk starts
        // with that directory's components: a link among them is followed too.
        var pending: [Substring] = Array(components(target).reversed())
        pending.append(contentsOf: components(link).dropLast().reversed())
        var resolved: [Substring] = []
        // The joined form of `resolved` as UTF-8, kept in step with it:
        // joining the components anew for each one would cost the square of
        // a long target's length. Bytes, because a component starting with a
        // combining mark fuses with the `/` before it into one Character.
        var path: [UInt8] = []
        var followed = 0
        var through: [String] = []
        while let part = pending.popLast() {
            switch part {
            case ".":
                continue
            case "..":
                // Every component in `resolved` is known not to be a link, so
                // `..` undoes it exactly as the kernel's walk would.
                guard let last = resolved.popLast() else { return .outside(through: through) }
                path.removeLast(resolved.isEmpty ? path.count : last.utf8.count + 1)
            default:
                let parentLength = path.count
                if !path.isEmpty { path.append(UInt8(ascii: "/")) }
                path.append(contentsOf: part.utf8)
                let candidate = String(decoding: path, as: UTF8.self)
                guard let next = targetOf(candidate) else {
                    resolved.append(part)
                    continue
                }
                path.removeLast(path.count - parentLength)
                if !through.contains(candidate) { through.append(candidate) }
                followed += 1
                if followed > maxFollows { return .loop(through: through) }
                if next.hasPrefix("/") { return .outside(through: through) }
                pending.append(contentsOf: components(next).reversed())
            }
        }
        return .inside(String(decoding: path, as: UTF8.self))
    }

    /// The components of a path, split at `/` bytes as the kernel splits it.
    /// `split` on the String's Characters would not: a component starting
    /// with a combining mark fuses with the `/` before it, so `../\u{301}`
    /// would be one component instead of `..` and another.
    static func components(_ path: String) -> [Substring] {
        path.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) }
    }
}
