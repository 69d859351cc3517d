import Foundation

/// A runtime Kiln knows how to select: the program that proves a runtime
/// directory is one, and how its version is asked of a toolchain.
public struct RuntimeKind: Sendable, Equatable {
    /// The name in `--runtimes DIR/NAME/VERSION` and in builder.conf's `runtimes`.
    public let name: String
    /// As people write it: "Python", "Node.js".
    public let title: String
    /// What `bin/` of a runtime directory holds.
    public let executable: String
    /// A shell command that prints the version of the toolchain on PATH.
    public let versionCommand: String
    /// How many leading numbers a stand-in must share with the version an
    /// app pins when no runtime meets the pin exactly: Erlang's major (OTP
    /// 25.2 compiles what 25.3 does), Elixir's minor. `nil`: no stand-in,
    /// the pin must be met (Python's and Node's minors change behaviour).
    public var standIn: Int? = nil

    /// The version in what ``versionCommand`` printed: `Python 3.11.2`, `v20.20.2`,
    /// Elixir's banner, Erlang's OTP_VERSION.
    public func version(in printed: String) -> RuntimeVersion? {
        switch name {
        case "elixir":
            guard let line = printed.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("Elixir ") }) else { return RuntimeVersion(printed) }
            return RuntimeVersion(line.dropFirst("Elixir ".count))
        case "python":
            return RuntimeVersion(printed.hasPrefix("Python ") ? String(printed.dropFirst("Python ".count)) : printed)
        default:
            return RuntimeVersion(printed)
        }
    }

    public static let python = RuntimeKind(name: "python", title: "Python", executable: "python3", versionCommand: "python3 --version")
    public static let node = RuntimeKind(name: "node", title: "Node.js", executable: "node", versionCommand: "node --version")
    public static let elixir = RuntimeKind(name: "elixir", title: "Elixir", executable: "elixir", versionCommand: "elixir --version", standIn: 2)
    /// OTP's full version (`26.2.1`), which `erl` prints only from this file.
    public static let erlang = RuntimeKind(
        name: "erlang", title: "Erlang/OTP", executable: "erl",
        versionCommand: #"erl -noshell -eval '{ok, V} = file:read_file(filename:join([code:root_dir(), "releases", erlang:system_info(otp_release), "OTP_VERSION"])), io:put_chars(V), halt().'"#,
        standIn: 1)

    public static let all = [python, node, elixir, erlang]

    public static func named(_ name: String) -> RuntimeKind? { all.first { $0.name == name } }
}
