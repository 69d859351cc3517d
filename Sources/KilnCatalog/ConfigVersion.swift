import Foundation

/// One version of an app's config vars. Version 0 is the empty config of
/// an app that never set any.
public struct ConfigVersion: Codable, Sendable, Equatable {
    public var app: String
    public var version: Int
    public var vars: [String: String]

    public init(app: String, version: Int, vars: [String: String]) {
        self.app = app
        self.version = version
        self.vars = vars
    }

    /// Whether `name` may name a config var: a letter or `_`, then letters,
    /// digits and `_` (it becomes a file name in ENV_DIR and a shell variable).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 255 else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "_" }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }
}
