import Foundation

/// Which versions an app accepts, in the two syntaxes apps write:
/// Python's and Elixir's version prefixes (`3.14` is any 3.14.x, `3.14.1`
/// just that one) and npm's semver ranges (`20.x`, `^20.1`, `~18.2.0`,
/// `>=18 <21`, `18 || 20`, `16 - 18`, `*`), which `engines.node` and
/// `.nvmrc` use.
public struct VersionRequirement: Sendable, Equatable, CustomStringConvertible {
    /// Alternatives (`||`), each a list of comparisons that must all hold.
    let alternatives: [[Comparison]]
    /// As the app wrote it.
    public let text: String

    struct Comparison: Sendable, Equatable {
        enum Operator: Sendable { case less, lessOrEqual, greater, greaterOrEqual, equal, prefix }
        let op: Operator
        let version: RuntimeVersion

        func holds(for candidate: RuntimeVersion) -> Bool {
            switch op {
            case .less: candidate < version
            case .lessOrEqual: candidate <= version
            case .greater: candidate > version
            case .greaterOrEqual: candidate >= version
            case .equal: candidate == version
            case .prefix: candidate.starts(with: version)
            }
        }
    }

    public var description: String { text }

    /// The version a prefix requirement names (`25.3` of elixir_buildpack.config), `nil` for a range.
    public var pinned: RuntimeVersion? {
        guard alternatives.count == 1, alternatives[0].count == 1, alternatives[0][0].op == .prefix else { return nil }
        return alternatives[0][0].version
    }

    /// Whether `version` is one the app accepts.
    public func accepts(_ version: RuntimeVersion) -> Bool {
        alternatives.contains { $0.allSatisfy { $0.holds(for: version) } }
    }

    /// Any version at all (`*`, `latest`, `lts/*`: the farm's newest).
    public static let any = VersionRequirement(alternatives: [[]], text: "*")

    /// A version prefix: `3.14` or `3.14.1`, `python-3.12` and `v1.15` too.
    /// `nil` when `text` has no version.
    public static func prefix(_ text: String) -> VersionRequirement? {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if let dash = trimmed.firstIndex(of: "-"), trimmed[..<dash].allSatisfy(\.isLetter) { trimmed = String(trimmed[trimmed.index(after: dash)...]) }
        guard let version = RuntimeVersion(trimmed) else { return nil }
        return VersionRequirement(alternatives: [[Comparison(op: .prefix, version: version)]], text: text)
    }

    /// An Elixir version requirement, as mix.exs's `elixir:` writes it:
    /// `~> 1.15` (1.15 up to 2.0), `~> 1.15.2` (up to 1.16), `>= 1.14.0 and < 2.0.0`,
    /// `== 1.15.7 or == 1.16.0`; `nil` when `text` is not one.
    public static func elixir(_ text: String) -> VersionRequirement? {
        var alternatives: [[Comparison]] = []
        for alternative in text.components(separatedBy: " or ") {
            var comparisons: [Comparison] = []
            for clause in alternative.components(separatedBy: " and ") {
                let words = clause.split(separator: " ").map(String.init)
                guard words.count == 2 || words.count == 1, let version = RuntimeVersion(words.last!), words.last!.first?.isNumber == true else { return nil }
                let op = words.count == 2 ? words[0] : "=="
                let known = version.components
                switch op {
                case "~>":
                    guard known.count >= 2 else { return nil }
                    let upper = known.count == 2 ? [known[0] + 1] : [known[0], known[1] + 1]
                    comparisons += [Comparison(op: .greaterOrEqual, version: version), Comparison(op: .less, version: RuntimeVersion(upper))]
                case ">=": comparisons.append(Comparison(op: .greaterOrEqual, version: version))
                case ">": comparisons.append(Comparison(op: .greater, version: version))
                case "<=": comparisons.append(Comparison(op: .lessOrEqual, version: version))
                case "<": comparisons.append(Comparison(op: .less, version: version))
                case "==": comparisons.append(Comparison(op: .equal, version: version))
                default: return nil
                }
            }
            alternatives.append(comparisons)
        }
        return VersionRequirement(alternatives: alternatives, text: text)
    }

    /// An npm semver range; `nil` when `text` is not one.
    public static func semver(_ text: String) -> VersionRequirement? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if ["", "*", "x", "latest", "node", "lts/*", "stable"].contains(trimmed.lowercased()) { return VersionRequirement(alternatives: [[]], text: text) }
        var alternatives: [[Comparison]] = []
        for alternative in trimmed.components(separatedBy: "||") {
            let words = alternative.split(separator: " ").map(String.init)
            if words.count == 3, words[1] == "-" {
                // A hyphen range: both ends included, the upper one as a prefix (`16 - 18` takes 18.x).
                guard let low = partial(words[0]), let high = partial(words[2]) else { return nil }
                alternatives.append([Comparison(op: .greaterOrEqual, version: low.floor)] + high.upTo(inclusive: true))
                continue
            }
            var comparisons: [Comparison] = []
            var pending = ""
            for word in words {
                // `>= 18` is written with a space at times: the operator joins its version.
                if word.allSatisfy({ "<>=~^".contains($0) }) { pending += word; continue }
                guard let parsed = Self.comparisons(pending + word) else { return nil }
                comparisons += parsed
                pending = ""
            }
            guard pending.isEmpty else { return nil }
            alternatives.append(comparisons)
        }
        return alternatives.isEmpty ? nil : VersionRequirement(alternatives: alternatives, text: text)
    }

    /// A version with wildcards: `20`, `20.x`, `20.1.*`.
    struct Partial {
        let known: [Int]
        var floor: RuntimeVersion { RuntimeVersion(known + Array(repeating: 0, count: max(0, 3 - known.count))) }
        /// The upper bound: below the next value of the last known number
        /// (`20.1` means below 20.2), or, `inclusive` with a
        /// whole version, up to and including it.
        func upTo(inclusive: Bool) -> [Comparison] {
            guard let last = known.last else { return [] }
            if inclusive, known.count >= 3 { return [Comparison(op: .lessOrEqual, version: RuntimeVersion(known))] }
            return [Comparison(op: .less, version: RuntimeVersion(Array(known.dropLast()) + [last + 1]))]
        }
    }

    static func partial(_ text: String) -> Partial? {
        var text = Substring(text)
        if text.first == "v" || text.first == "=" { text = text.dropFirst() }
        var known: [Int] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            if ["x", "X", "*"].contains(part) { break }
            // A pre-release or build tag (`18.0.0-rc.1`) ends the numbers.
            let digits = part.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9, let number = Int(digits) else { return nil }
            known.append(number)
            if digits.count != part.count { break }
        }
        return known.count <= 4 ? Partial(known: known) : nil
    }

    static func comparisons(_ word: String) -> [Comparison]? {
        for (symbol, op) in [(">=", Comparison.Operator.greaterOrEqual), ("<=", .lessOrEqual), (">", .greater), ("<", .less)] where word.hasPrefix(symbol) {
            guard let version = partial(String(word.dropFirst(symbol.count))) else { return nil }
            switch op {
            case .greater where version.known.count < 3:
                // `>20` means past every 20.x.
                return version.known.isEmpty ? [] : [Comparison(op: .greaterOrEqual, version: version.upTo(inclusive: false)[0].version)]
            case .lessOrEqual where version.known.count < 3:
                return version.upTo(inclusive: true)
            default:
                return version.known.isEmpty ? [] : [Comparison(op: op, version: version.floor)]
            }
        }
        if word.hasPrefix("~") {
            guard let version = partial(String(word.drop { $0 == "~" || $0 == ">" })) else { return nil }
            let fixed = version.known.count >= 2 ? Array(version.known.prefix(2)) : version.known
            return [Comparison(op: .greaterOrEqual, version: version.floor)] + Partial(known: fixed).upTo(inclusive: false)
        }
        if word.hasPrefix("^") {
            guard let version = partial(String(word.dropFirst())) else { return nil }
            // The first non-zero number stays; `^0.2.3` is below 0.3.0, `^1.2` below 2.0.0.
            let firstNonZero = version.known.firstIndex { $0 != 0 } ?? max(0, version.known.count - 1)
            let fixed = Array(version.known.prefix(min(firstNonZero + 1, version.known.count)))
            return [Comparison(op: .greaterOrEqual, version: version.floor)] + Partial(known: fixed).upTo(inclusive: false)
        }
        guard let version = partial(word) else { return nil }
        if version.known.count >= 3 { return [Comparison(op: .equal, version: RuntimeVersion(version.known))] }
        return [Comparison(op: .greaterOrEqual, version: version.floor)] + version.upTo(inclusive: false)
    }
}
