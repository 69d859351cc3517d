import Foundation

/// Decides whether the farm may connect to an address for a build's fetch.
/// A build names its URLs (`.buildpacks`, `BUILDPACK_URL`, submodules, a
/// source URL) and the farm fetches them from inside its own network: the
/// guard refuses whatever is not the public internet — loopback, link-local
/// (the cloud metadata service at 169.254.169.254 among them), private and
/// shared (CGNAT) ranges, unspecified, multicast and reserved addresses, the
/// IPv6 forms of all of these, and the addresses of this host's own
/// interfaces — unless the operator allowed a range that holds it.
public struct AddressGuard: Sendable, Equatable {
    /// Ranges the operator allowed (`--allow-fetch-from`); they win over every refusal.
    public var allowed: [CIDR]

    public init(allowing allowed: [CIDR] = []) {
        self.allowed = allowed
    }

    /// Ranges no build may fetch from, each with what it is (for the error).
    static let refused: [(range: CIDR, kind: String)] = refusedTable.compactMap { entry in
        (try? CIDR(entry.range)).map { (range: $0, kind: entry.kind) }
    }

    private static let refusedTable: [(range: String, kind: String)] = [
        ("0.0.0.0/8", "an unspecified (this-network) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.169.254/32", "the cloud metadata address"),
        ("169.254.0.0/16", "a link-local address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        // IPv4-compatible addresses (deprecated) reach IPv4 hosts in ways the guard does not follow.
        ("::/96", "an IPv4-compatible address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("fc00::/7", "a private (unique local) address"),
        ("ff00::/8", "a multicast address"),
    ]

    /// `nil` when the farm may connect to `address`, else why not (e.g. "a loopback address").
    public func refusal(of address: IPAddress) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        // An IPv6 form of an IPv4 address is judged as that address.
        let judged = address.embeddedIPv4 ?? address
        if let match = Self.refused.first(where: { $0.range.contains(judged) }) { return match.kind }
        if Self.hostAddresses().contains(judged) { return "an address of this host" }
        return nil
    }

    /// The error for a refused address met while fetching `url`.
    public func refusedError(_ address: IPAddress, kind: String, url: String) -> FetchRefused {
        let range = address.isIPv4 ? "\(address)/32" : "\(address)/128"
        return FetchRefused("cannot fetch \(url): the address guard refused \(address) (\(kind)); builds fetch only from public addresses. An operator who trusts it can start the farm with --allow-fetch-from \(range) (or a wider range)")
    }

    /// The addresses of this host's interfaces (getifaddrs), in their IPv4 form where they have one.
    /// Read on every check: interfaces come and go.
    static func hostAddresses() -> Set<IPAddress> {
        var first: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&first) == 0 else { return [] }
        defer { freeifaddrs(first) }
        var found: Set<IPAddress> = []
        var cursor = first
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr, let ip = IPAddress(socketAddress: address) {
                found.insert(ip.embeddedIPv4 ?? ip)
            }
            cursor = entry.pointee.ifa_next
        }
        return found
    }
}

extension IPAddress {
    /// The address of an `AF_INET` or `AF_INET6` socket address; `nil` for other families.
    init?(socketAddress: UnsafePointer<sockaddr>) {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            let bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
            self.init(bytes: bytes)
        case AF_INET6:
            let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            self.init(bytes: bytes)
        default:
            return nil
        }
    }
}
