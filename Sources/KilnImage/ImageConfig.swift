import Foundation

/// The parts of an OCI image config a release needs: how the image starts
/// and which ports it listens on.
public struct ImageConfig: Sendable, Equatable {
    public var entrypoint: [String]
    public var cmd: [String]
    /// `EXPOSE`d TCP and UDP ports, sorted.
    public var ports: [Int]
    public var labels: [String: String]

    /// Reads the `config` object of an OCI image config.
    public init(json data: Data) throws {
        guard let top = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ImageError("the image config is not a JSON object")
        }
        let config = top["config"] as? [String: Any] ?? [:]
        entrypoint = config["Entrypoint"] as? [String] ?? []
        cmd = config["Cmd"] as? [String] ?? []
        labels = config["Labels"] as? [String: String] ?? [:]
        let exposed = (config["ExposedPorts"] as? [String: Any]).map { Array($0.keys) } ?? []
        ports = Set(exposed.compactMap { Int($0.split(separator: "/").first ?? "") }).sorted()
    }

    /// `web` as the image starts it: ENTRYPOINT then CMD, each word quoted
    /// for a shell where it needs to be; `nil` when the image names neither.
    public var webCommand: String? {
        let words = entrypoint + cmd
        return words.isEmpty ? nil : words.map(Self.shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
