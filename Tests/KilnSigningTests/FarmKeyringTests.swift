import Foundation
import KilnSigning
import Testing

/// `FarmKeyring`: rotation keeps a key verifying, revocation makes it verify
/// nothing, on disk durably and idempotently, and never by accident undone.
@Suite struct FarmKeyringTests {
    /// A home's `keys/farm-ed25519.pem` in a fresh directory, removed with the test's scratch.
    struct Home {
        let root: URL
        var keyFile: URL { root.appendingPathComponent("keys/farm-ed25519.pem") }
        var keys: URL { root.appendingPathComponent("keys") }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-keyring-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        }

        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: keys.appendingPathComponent(path).path) }
        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    let message = Data("{\"app\":\"hello\"}".utf8)

    /// A home whose key `old` was rotated away (retired), `current` signing now.
    func rotated() throws -> (Home, old: FarmKey, current: FarmKey) {
        let home = try Home()
        let old = try FarmKey.loadOrCreate(at: home.keyFile)
        let (retired, current) = try FarmKeyring.rotate(at: home.keyFile)
        #expect(retired == old.publicKey)
        return (home, old, current)
    }

    @Test func aRevokedKeyLeavesTheRetiredOnesAndVerifiesNothingItSigned() throws {
        let (home, old, current) = try rotated()
        defer { home.remove() }
        let before = try FarmKeyring.load(keyFile: home.keyFile)
        #expect(before.keys.map(\.state) == [.current, .retired])
        #expect(before.trusted.usable == [current.publicKey, old.publicKey])

        let (revoked, already) = try FarmKeyring.revoke(old.publicKey.id, reason: "laptop stolen", keyFile: home.keyFile)
        #expect(!already && revoked.state == .revoked && revoked.reason == "laptop stolen")
        #expect(home.exists("revoked/\(old.publicKey.id).pub.pem") && home.exists("revoked/\(old.publicKey.id).json"))
        #expect(!home.exists("retired/\(old.publicKey.id).pub.pem"))

        let after = try FarmKeyring.load(keyFile: home.keyFile)
        #expect(after.keys.map(\.state) == [.current, .revoked])
        #expect(after.keys[1] == revoked, "the record on disk says what revoke returned")
        #expect(after.trusted.usable == [current.publicKey])
        #expect(try FarmKeyring.publicKeys(current: current, keyFile: home.keyFile) == [current.publicKey])

        let signedByOld = try old.sign(message)
        for claimed in [old.publicKey.id, nil] {
            let error = #expect(throws: FarmKeyRevokedError.self) {
                try after.trusted.signer(of: message, signature: signedByOld, claimedKeyID: claimed, signed: "the manifest")
            }
            #expect(error?.description.contains("farm key \(old.publicKey.id), which was revoked at") == true, "\(String(describing: error))")
            #expect(error?.description.contains("(laptop stolen)") == true)
        }
        let signedByCurrent = try current.sign(message)
        #expect(try after.trusted.signer(of: message, signature: signedByCurrent, claimedKeyID: current.publicKey.id, signed: "the manifest") == .signed(by: current.publicKey))
    }

    @Test func revokingAgainKeepsTheFirstRecordAndFinishesAnInterruptedRevocation() throws {
        let (home, old, _) = try rotated()
        defer { home.remove() }
        let id = old.publicKey.id
        let first = try FarmKeyring.revoke(id, reason: "laptop stolen", keyFile: home.keyFile, now: Date(timeIntervalSince1970: 1_700_000_000))
        let again = try FarmKeyring.revoke(id.uppercased(), reason: "another reason", keyFile: home.keyFile, now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(again.already && again.revoked == first.revoked)
        #expect(again.revoked.since == Date(timeIntervalSince1970: 1_700_000_000))

        // A crash between writing revoked/ and removing retired/ leaves the key in both: revoked wins, and revoke finishes the move.
        try Data(old.publicKey.pem.utf8).write(to: home.keys.appendingPathComponent("retired/\(id).pub.pem"))
        let interrupted = try FarmKeyring.load(keyFile: home.keyFile)
        #expect(interrupted.keys.map(\.state) == [.current, .revoked])
        #expect(!interrupted.trusted.usable.contains(old.publicKey))
        #expect(try FarmKeyring.revoke(id, reason: nil, keyFile: home.keyFile).already)
        #expect(!home.exists("retired/\(id).pub.pem"))
    }

    @Test func theCurrentKeyCannotBeRevokedAndAnUnknownIDNamesTheKeysThereAre() throws {
        let (home, old, current) = try rotated()
        defer { home.remove() }
        let refused = #expect(throws: SigningError.self) { try FarmKeyring.revoke(current.publicKey.id, reason: nil, keyFile: home.keyFile) }
        #expect(refused?.message.contains("is the current key") == true && refused?.message.contains("kiln farm-keys rotate") == true, "\(String(describing: refused))")
        #expect(!home.exists("revoked"))

        let unknown = #expect(throws: SigningError.self) { try FarmKeyring.revoke("0123456789abcdef", reason: nil, keyFile: home.keyFile) }
        #expect(unknown?.message.contains("there is no farm key 0123456789abcdef") == true, "\(String(describing: unknown))")
        #expect(unknown?.message.contains("\(current.publicKey.id) (current), \(old.publicKey.id) (retired)") == true, "\(String(describing: unknown))")

        let multiline = #expect(throws: SigningError.self) { try FarmKeyring.revoke(old.publicKey.id, reason: "one\ntwo", keyFile: home.keyFile) }
        #expect(multiline?.message.contains("one line") == true)
        #expect(try FarmKeyring.load(keyFile: home.keyFile).keys.map(\.state) == [.current, .retired])
    }

    @Test func aRevocationWhoseFilesAreDamagedStaysARevocation() throws {
        let (home, old, current) = try rotated()
        defer { home.remove() }
        let id = old.publicKey.id
        _ = try FarmKeyring.revoke(id, reason: "leaked", keyFile: home.keyFile)
        let signedByOld = try old.sign(message)

        // The record lost: revoked all the same, its time from the public file.
        try FileManager.default.removeItem(at: home.keys.appendingPathComponent("revoked/\(id).json"))
        var keyring = try FarmKeyring.load(keyFile: home.keyFile)
        #expect(keyring.keys.map(\.state) == [.current, .revoked] && keyring.keys[1].reason == nil && keyring.keys[1].since != nil)
        #expect(throws: FarmKeyRevokedError.self) { try keyring.trusted.signer(of: self.message, signature: signedByOld, claimedKeyID: nil, signed: "it") }

        // The public file lost and the record garbled: the name alone keeps the id revoked.
        try "not json".write(to: home.keys.appendingPathComponent("revoked/\(id).json"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: home.keys.appendingPathComponent("revoked/\(id).pub.pem"))
        keyring = try FarmKeyring.load(keyFile: home.keyFile)
        #expect(keyring.keys.map(\.id) == [current.publicKey.id, id] && keyring.keys[1].publicKey == nil)
        #expect(throws: FarmKeyRevokedError.self) { try keyring.trusted.signer(of: self.message, signature: signedByOld, claimedKeyID: id, signed: "it") }
    }

    @Test func aPinnedFileThatStillHoldsARevokedKeyDoesNotMakeItVerify() throws {
        let (home, old, current) = try rotated()
        defer { home.remove() }
        let signedByOld = try old.sign(message)
        // What a client does with a PEM file from before the revocation and the server's word.
        let pinned = TrustedFarmKeys([current.publicKey, old.publicKey], revoked: [FarmKeyRevocation(id: old.publicKey.id, reason: "leaked")])
        #expect(pinned.usable == [current.publicKey])
        for claimed in [old.publicKey.id, nil] {
            #expect(throws: FarmKeyRevokedError.self) { try pinned.signer(of: self.message, signature: signedByOld, claimedKeyID: claimed, signed: "it") }
        }
        // Without revocations, the same file verifies as it always did.
        #expect(try TrustedFarmKeys([current.publicKey, old.publicKey]).signer(of: message, signature: signedByOld, claimedKeyID: nil, signed: "it") == .signed(by: old.publicKey))
        #expect(try pinned.signer(of: message, signature: signedByOld, claimedKeyID: current.publicKey.id, signed: "it") == .invalid)
    }

    @Test func aHomeWhoseCurrentKeyWasRevokedRefusesToLoad() throws {
        let home = try Home()
        defer { home.remove() }
        _ = try FarmKey.loadOrCreate(at: home.keyFile)
        // A worker's home that kept the old key but was given the farm's new revoked/.
        let stale = try Data(contentsOf: home.keyFile)
        let (old, _) = try FarmKeyring.rotate(at: home.keyFile)
        _ = try FarmKeyring.revoke(old.id, reason: nil, keyFile: home.keyFile)
        try stale.write(to: home.keyFile)
        chmod(home.keyFile.path, 0o600)
        let error = #expect(throws: SigningError.self) { try FarmKeyring.load(keyFile: home.keyFile) }
        #expect(error?.message.contains("farm key \(old.id), which was revoked") == true && error?.message.contains("must not sign") == true, "\(String(describing: error))")
    }
}
