import Testing
@testable import KilnDownload

@Suite struct CIDRTests {
    @Test func anIPv4RangeHoldsItsAddressesAndNoOthers() throws {
        let range = try CIDR("172.16.0.0/12")
        #expect(range.contains(IPAddress("172.16.0.1")!))
        #expect(range.contains(IPAddress("172.31.255.255")!))
        #expect(!range.contains(IPAddress("172.32.0.0")!))
        #expect(!range.contains(IPAddress("172.15.255.255")!))
    }

    @Test func anIPv4RangeHoldsTheMappedIPv6FormsOfItsAddresses() throws {
        let range = try CIDR("127.0.0.0/8")
        #expect(range.contains(IPAddress("::ffff:127.0.0.1")!))
        #expect(range.contains(IPAddress("::ffff:7f00:2")!))
        #expect(!range.contains(IPAddress("::1")!))
    }

    @Test func anIPv6RangeHoldsItsAddresses() throws {
        let range = try CIDR("fc00::/7")
        #expect(range.contains(IPAddress("fd12:3456::1")!))
        #expect(!range.contains(IPAddress("fe80::1")!))
        #expect(!range.contains(IPAddress("10.0.0.1")!))
    }

    @Test func aBareAddressIsARangeOfOne() throws {
        let range = try CIDR("127.0.0.2")
        #expect(range.prefixLength == 32)
        #expect(range.contains(IPAddress("127.0.0.2")!))
        #expect(!range.contains(IPAddress("127.0.0.1")!))
        #expect(try CIDR("::1").prefixLength == 128)
    }

    @Test func hostBitsAreClearedAndAnOddPrefixMasksWithinAByte() throws {
        let range = try CIDR("100.127.1.2/10")
        #expect(range.description == "100.64.0.0/10")
        #expect(range.contains(IPAddress("100.127.255.255")!))
        #expect(!range.contains(IPAddress("100.128.0.0")!))
        #expect(try CIDR("0.0.0.0/0").contains(IPAddress("8.8.8.8")!))
    }

    @Test func badRangesAreRefusedNamingTheValue() {
        for text in ["10.0.0.0/33", "example.com/8", "10.0.0.0/x", "", "fe80::/129"] {
            #expect(throws: FetchConfigurationError.self) { try CIDR(text) }
            do { _ = try CIDR(text) } catch { #expect("\(error)".contains("'\(text)'"), "\(error)") }
        }
    }

    @Test func aRangeSurvivesJSON() throws {
        let policy = FetchPolicy(allowedRanges: [try CIDR("127.0.0.0/8"), try CIDR("fd00::/8")], localDirectories: ["/srv/bp"], gitProtocols: [.ssh])
        let decoded = try JSONDecoder().decode(FetchPolicy.self, from: try JSONEncoder().encode(policy))
        #expect(decoded == policy)
    }
}

import Foundation
