import Foundation

/// The version of a runtime an app asks for, and in which file it asked:
/// what a built-in builder reads before it builds, from the files Heroku
/// (and Gigalixir, for Elixir) read.
public struct RuntimeRequest: Sendable, Equatable {
    /// The runtime: `python`, `node`, `elixir` or `erlang` (a ``RuntimeKind`` name).
    public var runtime: String
    public var requirement: VersionRequirement
    /// The file that asks, e.g. `.python-version` or `package.json engines.node`.
    public var file: String

    public init(runtime: String, requirement: VersionRequirement, file: String) {
        self.runtime = runtime
        self.requirement = requirement
        self.file = file
    }

    /// Reads an app's file by its path in the app, `nil` when there is none.
    /// The worker's reader refuses links out of the app and caps the size.
    public typealias Reader = (String) throws -> String?

    /// What the app asks of `runtime`, from the first of its files that says;
    /// `nil` when none does (the farm's default then builds it). A file that
    /// asks in a form that cannot be read throws, naming the file.
    public static func read(_ runtime: String, from read: Reader) throws -> RuntimeRequest? {
        switch runtime {
        case "python": try python(read)
        case "node": try node(read)
        case "elixir", "erlang": try elixir(runtime, read)
        default: nil
        }
    }

    /// `.python-version` (Heroku's format: `#` comments, `3.14` or `3.14.1`),
    /// then `runtime.txt` (`python-3.12.1`), then Pipfile.lock's `requires`.
    static func python(_ read: Reader) throws -> RuntimeRequest? {
        if let text = try read(".python-version") {
            let lines = meaningfulLines(text)
            guard let line = lines.first else { throw RuntimeError(".python-version names no version: write one, e.g. 3.12") }
            guard lines.count == 1, let requirement = VersionRequirement.prefix(line), line.first?.isNumber == true else {
                throw RuntimeError(".python-version must hold one version such as 3.12 or 3.12.4; it reads \(quoted(lines.joined(separator: " ")))")
            }
            return RuntimeRequest(runtime: "python", requirement: requirement, file: ".python-version")
        }
        if let text = try read("runtime.txt") {
            let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard line.hasPrefix("python-"), let requirement = VersionRequirement.prefix(line) else {
                throw RuntimeError("runtime.txt must read python-3.12 or python-3.12.4; it reads \(quoted(line))")
            }
            return RuntimeRequest(runtime: "python", requirement: requirement, file: "runtime.txt")
        }
        if let text = try read("Pipfile.lock") {
            guard let lock = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw RuntimeError("Pipfile.lock is not valid JSON: regenerate it with pipenv lock")
            }
            let requires = (lock["_meta"] as? [String: Any])?["requires"] as? [String: Any]
            for key in ["python_full_version", "python_version"] {
                if let version = requires?[key] as? String {
                    guard let requirement = VersionRequirement.prefix(version) else {
                        throw RuntimeError("Pipfile.lock's _meta.requires.\(key) is \(quoted(version)), not a version")
                    }
                    return RuntimeRequest(runtime: "python", requirement: requirement, file: "Pipfile.lock")
                }
            }
        }
        return nil
    }

    /// package.json's `engines.node` (a semver range), then `.nvmrc`.
    static func node(_ read: Reader) throws -> RuntimeRequest? {
        if let text = try read("package.json"),
           let package = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
           let engines = package["engines"] as? [String: Any], let range = engines["node"] {
            guard let range = range as? String, let requirement = VersionRequirement.semver(range) else {
                throw RuntimeError("package.json's engines.node is \(quoted("\(range)")), not a semver range such as 20.x or >=18")
            }
            return RuntimeRequest(runtime: "node", requirement: requirement, file: "package.json engines.node")
        }
        if let text = try read(".nvmrc") {
            let line = meaningfulLines(text).first ?? ""
            guard let requirement = VersionRequirement.semver(line) else {
                throw RuntimeError(".nvmrc must name a Node.js version such as 20 or v20.11.0; it reads \(quoted(line))")
            }
            return RuntimeRequest(runtime: "node", requirement: requirement, file: ".nvmrc")
        }
        return nil
    }

    /// `elixir_buildpack.config` (`elixir_version=1.15.7`, `erlang_version=26.2`,
    /// as Gigalixir's and HashNuke's buildpacks read it), then asdf's
    /// `.tool-versions`, then (Elixir only) the requirement mix.exs's
    /// project declares, `elixir: "~> 1.15"`, which mix itself only warns about.
    static func elixir(_ runtime: String, _ read: Reader) throws -> RuntimeRequest? {
        if let text = try read("elixir_buildpack.config") {
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard line.hasPrefix("\(runtime)_version=") else { continue }
                let value = String(line.dropFirst("\(runtime)_version=".count)).trimmingCharacters(in: CharacterSet(charactersIn: " \"'"))
                // `(branch main)` or `(tag v1.15.0)`: builds from source, which only a runtime of that version stands in for.
                let version = value.hasPrefix("(") ? String(value.dropFirst().dropLast().split(separator: " ").last ?? "") : value
                guard let requirement = VersionRequirement.prefix(version), version.drop(while: { $0 == "v" }).first?.isNumber == true else {
                    throw RuntimeError("elixir_buildpack.config's \(runtime)_version is \(quoted(value)), not a version")
                }
                return RuntimeRequest(runtime: runtime, requirement: requirement, file: "elixir_buildpack.config")
            }
        }
        if let text = try read(".tool-versions") {
            for raw in text.split(whereSeparator: \.isNewline) {
                let words = raw.split(separator: " ", omittingEmptySubsequences: true)
                guard words.count >= 2, words[0] == runtime else { continue }
                // asdf's elixir versions name their OTP: `1.15.7-otp-26`; the Elixir version is before it.
                let version = String(words[1].split(separator: "-").first ?? "")
                guard let requirement = VersionRequirement.prefix(version) else {
                    throw RuntimeError(".tool-versions names \(runtime) \(quoted(String(words[1]))), not a version")
                }
                return RuntimeRequest(runtime: runtime, requirement: requirement, file: ".tool-versions")
            }
        }
        if runtime == "elixir", let text = try read("mix.exs"),
           let declared = text.firstMatch(of: /\belixir:\s*"([^"\n]{1,80})"/)?.1 {
            guard let requirement = VersionRequirement.elixir(String(declared)) else {
                throw RuntimeError("mix.exs's elixir: \(quoted(String(declared))) is not a version requirement such as ~> 1.15")
            }
            return RuntimeRequest(runtime: runtime, requirement: requirement, file: "mix.exs")
        }
        return nil
    }

    /// A version file's lines without blanks and `#` comments, trimmed.
    static func meaningfulLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// An app's text, quoted and cut short for an error line.
    static func quoted(_ text: String) -> String {
        let printable = text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined()
        return "\"" + (printable.count > 40 ? printable.prefix(40) + "…" : printable) + "\""
    }
}

/// An app's runtime request that cannot be read or met, or a runtime that
/// cannot be added; the message names the file or runtime and what to do.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
