/// A range of addresses written `ADDRESS/BITS` (`10.0.0.0/8`, `fc00::/7`);
/// a bare address is a range of one.
public struct CIDR: Sendable, Hashable, Codable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `ADDRESS/BITS` or `ADDRESS`; throws ``FetchConfigurationError`` naming the text.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else {
            throw FetchConfigurationError("'\(text)' is not a CIDR range: write an IPv4 or IPv6 address and a prefix length, such as 10.20.0.0/16 or fd00::/8")
        }
        let maximum = address.bytes.count * 8
        var length = maximum
        if parts.count == 2 {
            guard let bits = Int(parts[1]), (0...maximum).contains(bits) else {
                throw FetchConfigurationError("'\(text)' has the prefix length '\(parts[1])': it must be a number from 0 to \(maximum)")
            }
            length = bits
        }
        self.init(address: address, prefixLength: length)
    }

    /// The range of `prefixLength` leading bits of `address` (clamped to its size); the other bits are cleared.
    public init(address: IPAddress, prefixLength: Int) {
        let length = max(0, min(prefixLength, address.bytes.count * 8))
        var bytes = address.bytes
        for index in bytes.indices {
            let kept = max(0, min(8, length - index * 8))
            bytes[index] &= kept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - kept))
        }
        self.address = IPAddress(bytes: bytes)!
        self.prefixLength = length
    }

    /// Whether `candidate` lies in this range. An IPv4 range also holds the
    /// IPv6 forms of its addresses (`::ffff:a.b.c.d`), which reach the same hosts.
    public func contains(_ candidate: IPAddress) -> Bool {
        var candidate = candidate
        if address.isIPv4, let embedded = candidate.embeddedIPv4 { candidate = embedded }
        guard candidate.bytes.count == address.bytes.count else { return false }
        for index in candidate.bytes.indices {
            let kept = max(0, min(8, prefixLength - index * 8))
            if kept == 0 { return true }
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - kept))
            if candidate.bytes[index] & mask != address.bytes[index] { return false }
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
