import Foundation
import Testing
@testable import KilnDownload

@Suite struct AddressGuardTests {
    @Test func addressesOutsideThePublicInternetAreRefused() {
        let strict = AddressGuard()
        let refused = [
            "127.0.0.1": "loopback", "127.8.9.10": "loopback", "::1": "loopback",
            "169.254.169.254": "metadata", "169.254.3.4": "link-local", "fe80::1": "link-local",
            "10.1.2.3": "private", "172.16.0.1": "private", "172.31.9.9": "private", "192.168.1.1": "private",
            "fd00::1": "private", "fc00::1": "private",
            "100.64.0.1": "CGNAT", "100.127.255.254": "CGNAT",
            "0.0.0.0": "unspecified", "::": "unspecified",
            "224.0.0.1": "multicast", "239.255.255.250": "multicast", "ff02::1": "multicast",
            "255.255.255.255": "reserved",
        ]
        for (text, kind) in refused {
            let reason = strict.refusal(of: IPAddress(text)!)
            #expect(reason?.contains(kind) == true, "\(text): \(reason ?? "allowed")")
        }
    }

    @Test func theIPv6FormsOfRefusedIPv4AddressesAreRefused() {
        let strict = AddressGuard()
        for text in ["::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "::127.0.0.1"] {
            #expect(strict.refusal(of: IPAddress(text)!) != nil, "\(text)")
        }
        #expect(strict.refusal(of: IPAddress("::ffff:169.254.169.254")!)?.contains("metadata") == true)
    }

    @Test func publicAddressesAreAllowed() {
        let strict = AddressGuard()
        for text in ["8.8.8.8", "140.82.112.3", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(strict.refusal(of: IPAddress(text)!) == nil, "\(text)")
        }
    }

    @Test func anAllowedRangeWinsOverTheRefusals() throws {
        let loose = AddressGuard(allowing: [try CIDR("127.0.0.2/32"), try CIDR("10.20.0.0/16")])
        #expect(loose.refusal(of: IPAddress("127.0.0.2")!) == nil)
        #expect(loose.refusal(of: IPAddress("::ffff:127.0.0.2")!) == nil)
        #expect(loose.refusal(of: IPAddress("10.20.3.4")!) == nil)
        #expect(loose.refusal(of: IPAddress("127.0.0.1")!) != nil)
        #expect(loose.refusal(of: IPAddress("10.21.0.1")!) != nil)
    }

    @Test func thisHostsOwnAddressesAreRefused() throws {
        let own = AddressGuard.hostAddresses()
        #expect(own.contains(IPAddress("127.0.0.1")!))
        for address in own {
            #expect(AddressGuard().refusal(of: address) != nil, "\(address)")
        }
    }

    @Test func theRefusalNamesTheAddressAndTheOptionThatAllowsIt() {
        let error = AddressGuard().refusedError(IPAddress("169.254.169.254")!, kind: "the cloud metadata address", url: "http://169.254.169.254/x.tgz")
        #expect(error.description.contains("169.254.169.254 (the cloud metadata address)"))
        #expect(error.description.contains("--allow-fetch-from 169.254.169.254/32"))
        #expect(error.description.contains("http://169.254.169.254/x.tgz"))
    }

    @Test func addressesPrintAsTheyAreWritten() {
        #expect(IPAddress("::ffff:127.0.0.1")!.description == "::ffff:127.0.0.1")
        #expect(IPAddress("[fe80::1]")!.description == "fe80::1")
        #expect(IPAddress("10.0.0.1")!.description == "10.0.0.1")
        #expect(IPAddress("example.com") == nil)
    }
}
