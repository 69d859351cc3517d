import Foundation
import KilnSigning
import Testing

@Suite struct URLSignerTests {
    let signer = URLSigner(secret: Data(repeating: 0x55, count: 32))
    let path = "/slugs/" + String(repeating: "0f", count: 32)

    @Test func aSignatureEndingInAMultiByteCharacterIsRefusedInsteadOfCrashing() {
        // Found by bench/fuzz (signed-url): 62 hex digits and U+03DC, 64 bytes of UTF-8 in 63 characters.
        let crash = "/slugs/0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f?expires=1600000000&signature=af6404f8be78de6d078f78715bdb94ef5c3f77d61a563b37530b5179a0d326\u{3DC}"
        let signature = String(crash[crash.range(of: "signature=")!.upperBound...])
        #expect(signature.utf8.count == 64)
        #expect(signer.check(method: "GET", path: "/slugs/0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", expires: 1_600_000_000, signature: signature) == .badSignature)
        for odd in [String(repeating: "a", count: 62) + "é", String(repeating: "a", count: 61) + "€", String(repeating: "\r\n", count: 32)] {
            #expect(signer.check(method: "GET", path: path, expires: 1_600_000_000, signature: odd) == .badSignature)
        }
    }

    @Test func onlyTheExactHexOfTheSignatureIsAccepted() {
        let signature = signer.signature(method: "GET", path: path, expires: 4_000_000_000)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(signer.check(method: "GET", path: path, expires: 4_000_000_000, signature: signature, now: now) == .valid)
        #expect(signer.check(method: "GET", path: path, expires: 4_000_000_000, signature: signature.uppercased(), now: now) == .valid)
        #expect(signer.check(method: "GET", path: path, expires: 1_600_000_000, signature: signer.signature(method: "GET", path: path, expires: 1_600_000_000), now: now) == .expired)
        // A sign is not a hex digit, though UInt8("+f", radix: 16) is 15 like "0f".
        let expires = (4_000_000_000...).first { signer.signature(method: "GET", path: path, expires: $0).hasPrefix("0") }!
        let leadingZero = signer.signature(method: "GET", path: path, expires: expires)
        #expect(signer.check(method: "GET", path: path, expires: expires, signature: leadingZero, now: now) == .valid)
        #expect(signer.check(method: "GET", path: path, expires: expires, signature: "+" + leadingZero.dropFirst(), now: now) == .badSignature)
        #expect(signer.check(method: "PUT", path: path, expires: 4_000_000_000, signature: signature, now: now) == .badSignature)
        #expect(signer.check(method: "GET", path: path, expires: 4_000_000_001, signature: signature, now: now) == .badSignature)
    }
}
