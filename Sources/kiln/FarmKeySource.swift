import ArgumentParser
import Foundation
import KilnAPI
import KilnClient
import KilnSigning

/// Where a command that verifies the farm's signatures gets its keys. The keys
/// it trusts come from a PEM file given by hand, else from the farm's server;
/// which keys are revoked comes from the server (`GET /api/farm/keys`) either
/// way, unless the user says `--offline`. A revocation only takes trust away,
/// so the server's word on it is safe to take over a pinned file; and a
/// verifier that cannot learn it refuses, rather than trust a key that may be
/// revoked.
enum FarmKeySource {
    /// Every key `client`'s farm trusts, with its revocations.
    static func server(_ client: KilnClient) async throws -> TrustedFarmKeys {
        let listed = try await list(client)
        let keys = try listed.filter { $0.state != .revoked }.map { key in
            guard let pem = key.publicKey else {
                throw ClientError("\(client.server) lists farm key \(key.id) (\(key.state.rawValue)) without its public key: its answer is not the one docs/openapi.yaml describes")
            }
            return try FarmPublicKey(pem: pem)
        }
        return TrustedFarmKeys(keys, revoked: revocations(listed))
    }

    /// The keys in the PEM file at `path`, less those that `client`'s farm revoked;
    /// all of them when `client` is `nil` (`--offline`).
    static func pinned(_ path: String, revocationsFrom client: KilnClient?) async throws -> TrustedFarmKeys {
        let keys = try FarmPublicKey.all(pem: try String(contentsOfFile: path, encoding: .utf8))
        guard let client else { return TrustedFarmKeys(keys) }
        return TrustedFarmKeys(keys, revoked: revocations(try await list(client)))
    }

    /// The server to ask about revocations: `KILN_SERVER`, or `nil` with `--offline`.
    /// Refuses when there is neither, saying both ways out.
    static func revocationServer(offline: Bool, keys option: String) throws -> KilnClient? {
        if offline { return nil }
        do {
            return try KilnClient.fromEnvironment()
        } catch {
            throw ValidationError("""
                cannot learn which farm keys were revoked: KILN_SERVER is not set. Export KILN_SERVER=http://HOST:PORT (the farm's server), \
                or pass --offline to trust every key in \(option) as it is (then a revoked key left in it still verifies)
                """)
        }
    }

    static func list(_ client: KilnClient) async throws -> [Components.Schemas.FarmKey] {
        do {
            return try await client.call(timeout: 30) { try await $0.listFarmKeys().ok.body.json }
        } catch {
            throw ClientError("cannot learn which farm keys were revoked from \(client.server) (\(error)): refusing to verify. Make the server reachable, or pass --offline to trust the keys given as they are")
        }
    }

    static func revocations(_ listed: [Components.Schemas.FarmKey]) -> [FarmKeyRevocation] {
        listed.filter { $0.state == .revoked }.map { key in
            FarmKeyRevocation(id: key.id, publicKey: key.publicKey.flatMap { try? FarmPublicKey(pem: $0) }, revokedAt: key.revokedAt ?? key.since, reason: key.reason)
        }
    }
}
