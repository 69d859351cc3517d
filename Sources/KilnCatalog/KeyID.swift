/// A key's id as listings print it and `kiln keys revoke` takes it: `key-N`
/// for an API key, `ssh-N` for an SSH key (N the row's number).
public enum KeyID: Sendable, Equatable, Hashable, CustomStringConvertible {
    case api(Int64)
    case ssh(Int64)

    /// Parses `key-N` or `ssh-N`; the error names the text and the forms it takes.
    public init(parsing text: String) throws {
        let number: (String) -> Int64? = { prefix in
            guard text.hasPrefix(prefix), text.utf8.count <= 24 else { return nil }
            let digits = text.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits), value > 0 else { return nil }
            return value
        }
        if let value = number("key-") {
            self = .api(value)
        } else if let value = number("ssh-") {
            self = .ssh(value)
        } else {
            throw CatalogError(.invalid, "'\(text.prefix(80))' is not a key id: give key-N (an API key) or ssh-N (an SSH key) as `kiln keys list` prints them, or an SSH fingerprint SHA256:... with --app")
        }
    }

    public var description: String {
        switch self {
        case .api(let number): "key-\(number)"
        case .ssh(let number): "ssh-\(number)"
        }
    }
}
