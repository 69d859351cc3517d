import Foundation

/// A runtime's version as its toolchain prints it: dotted numbers
/// (`3.11.2`, `20.20.2`, `24.3.4.17`), compared number by number. A `v`
/// prefix and anything after the numbers (`-otp-26`, `rc1`) are not part of it.
public struct RuntimeVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let components: [Int]

    public init(_ components: [Int]) { self.components = components }

    /// The leading dotted numbers of `text`, or `nil` when it starts with none.
    public init?(_ text: some StringProtocol) {
        var trimmed = Substring(text.trimmingCharacters(in: .whitespaces))
        if trimmed.first == "v" || trimmed.first == "V" { trimmed = trimmed.dropFirst() }
        var components: [Int] = []
        for part in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let digits = part.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9, let number = Int(digits) else { break }
            components.append(number)
            if digits.count != part.count { break }
        }
        guard !components.isEmpty else { return nil }
        self.components = components
    }

    public var description: String { components.map(String.init).joined(separator: ".") }

    /// The `index`th number, 0 where the version has fewer.
    public subscript(index: Int) -> Int { index < components.count ? components[index] : 0 }

    public static func < (left: RuntimeVersion, right: RuntimeVersion) -> Bool {
        for index in 0..<max(left.components.count, right.components.count) where left[index] != right[index] {
            return left[index] < right[index]
        }
        return false
    }

    /// Whether `prefix`'s numbers begin this version: `3.11` begins `3.11.2`.
    public func starts(with prefix: RuntimeVersion) -> Bool {
        prefix.components.count <= components.count && Array(components.prefix(prefix.components.count)) == prefix.components
    }
}
