import Foundation

/// What keys one builder's dependencies and where they are, read from a
/// declarative file in the farm's `cache/` directory (`cache/node.rule`):
///
///     keys = package-lock.json
///     toolchain = node --version
///     directories = node_modules
///
/// `keys` are files of the app whose contents decide the dependencies;
/// `toolchain` commands print the versions the dependencies were built
/// with (run on the worker, whose /usr builds see); `directories` are what
/// the builder produces from them, relative to the app. A directory may
/// name a config var with a default, `_build/${MIX_ENV:-prod}/lib`; the
/// var's value is then part of the key as well.
public struct CacheRule: Sendable, Equatable {
    /// The builder it belongs to: the file's name without `.rule`.
    public var builder: String
    public var keys: [String]
    public var toolchain: [String]
    public var directories: [String]

    public init(builder: String, keys: [String], toolchain: [String], directories: [String]) {
        self.builder = builder
        self.keys = keys
        self.toolchain = toolchain
        self.directories = directories
    }

    /// Parses a rule file; a line it does not understand is an error naming it.
    public static func parse(_ text: String, builder: String) throws -> CacheRule {
        var rule = CacheRule(builder: builder, keys: [], toolchain: [], directories: [])
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw CacheRuleError("cache/\(builder).rule line \(number + 1): expected `name = value`, found \(line)") }
            let list = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            switch parts[0] {
            case "keys": rule.keys += list
            case "toolchain": rule.toolchain.append(parts[1])
            case "directories": rule.directories += list
            default: throw CacheRuleError("cache/\(builder).rule line \(number + 1): unknown setting \(parts[0]) (keys, toolchain or directories)")
            }
        }
        for path in rule.keys + rule.directories where path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            throw CacheRuleError("cache/\(builder).rule: \(path) must be a path inside the app")
        }
        guard !rule.directories.isEmpty else { throw CacheRuleError("cache/\(builder).rule names no directories to cache") }
        return rule
    }

    /// Every `*.rule` file of `directory`, by builder name.
    public static func load(from directory: URL) throws -> [String: CacheRule] {
        var rules: [String: CacheRule] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".rule") {
            let builder = String(name.dropLast(5))
            rules[builder] = try parse(try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8), builder: builder)
        }
        return rules
    }

    /// The directories with their `${NAME:-default}` references replaced
    /// from `vars`, and the names and values used (part of the key).
    public func resolvedDirectories(vars: [String: String]) -> (directories: [String], used: [String: String]) {
        var used: [String: String] = [:]
        let directories = directories.map { directory -> String in
            var result = ""
            var rest = Substring(directory)
            while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
                result += rest[..<start.lowerBound]
                let reference = rest[start.upperBound..<end]
                let parts = reference.components(separatedBy: ":-")
                let value = vars[parts[0]] ?? (parts.count > 1 ? parts[1] : "")
                used[parts[0]] = value
                result += value
                rest = rest[rest.index(after: end)...]
            }
            return result + rest
        }
        return (directories.filter { !$0.isEmpty && !$0.split(separator: "/").contains("..") }, used)
    }
}

/// A cache rule file that cannot be used; says which and why.
public struct CacheRuleError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
