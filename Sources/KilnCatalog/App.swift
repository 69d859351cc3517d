import Foundation

/// An application: one git repository, one stream of builds and releases.
public struct App: Codable, Sendable, Equatable {
    public var name: String
    /// The branch whose pushes are built; pushes to other branches are stored only.
    public var deployBranch: String
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case name
        case deployBranch = "deploy_branch"
        case createdAt = "created_at"
    }

    /// Whether `name` may name an app: lowercase letters, digits and dashes,
    /// starting with a letter, at most 63 characters (a DNS label).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (97...122).contains(first), name.utf8.count <= 63 else { return false }
        return name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }
}
