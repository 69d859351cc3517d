import Foundation
import KilnArchive
import KilnBuildpacks
import KilnSigning
import KilnSlug

/// One parser of hostile input, driven by libFuzzer with arbitrary bytes.
///
/// Each target feeds the bytes to the code the farm runs on what a push, a
/// buildpack or a request hands it, and checks what must hold whatever the
/// bytes: nothing traps, an extraction leaves nothing outside its directory,
/// a signature made by the farm's key verifies. A broken promise stops the
/// process (`fatalError`), which libFuzzer records as a crash with its input.
enum FuzzTarget: String, CaseIterable {
    case extract
    case procfile
    case buildpacks
    case release
    case slugManifest = "slug-manifest"
    case signedURL = "signed-url"

    /// The target `KILN_FUZZ_TARGET` names; stops with the list of targets if it names none.
    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("set KILN_FUZZ_TARGET to one of: \(names) (it is '\(name)')\n".utf8))
            exit(2)
        }
        return target
    }()

    /// Runs one input.
    func run(_ data: Data) {
        switch self {
        case .extract: Self.extract(data)
        case .procfile: _ = try? ProcessTypes.parseProcfile(String(decoding: data, as: UTF8.self))
        case .buildpacks: Self.buildpacks(data)
        case .release: Self.release(data)
        case .slugManifest: Self.slugManifest(data)
        case .signedURL: Self.signedURL(data)
        }
    }

    // MARK: Source archives

    /// Where inputs are written and unpacked: one directory for the process, on tmpfs when there is one.
    static let scratch: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("kiln-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Small limits, so that one input costs milliseconds, not the default gigabytes.
    static let extractor = ArchiveExtractor(maxEntries: 256, maxBytes: 4 << 20)

    static func extract(_ data: Data) {
        let archive = scratch.appendingPathComponent("input")
        let run = scratch.appendingPathComponent("run")
        let app = run.appendingPathComponent("app")
        try? FileManager.default.removeItem(at: run)
        guard (try? data.write(to: archive)) != nil,
              (try? FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)) != nil
        else { fatalError("cannot prepare \(scratch.path) for the extract target") }
        _ = try? extractor.extract(archive: archive, into: app)
        // Whether or not the archive was refused, nothing may be beside the app
        // directory and no link in it may lead out of it.
        let beside = (try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []
        guard beside == ["app"] else { fatalError("the extraction wrote \(beside) beside the app directory") }
        checkLinksStayInside(app)
        try? FileManager.default.removeItem(at: run)
    }

    /// Traps if a link under `root` resolves (by the kernel) outside it.
    static func checkLinksStayInside(_ root: URL) {
        let rootPath = root.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return }
        while let relative = walker.nextObject() as? String {
            let path = root.path + "/" + relative
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & 0o170000 == 0o120000 else { continue }
            // A dangling link or a loop has no real path: it reaches nothing.
            guard let real = realpath(path, nil) else { continue }
            defer { free(real) }
            let resolved = String(cString: real)
            guard resolved == rootPath || resolved.hasPrefix(rootPath + "/") else {
                fatalError("the link \(relative) resolves to \(resolved), outside \(rootPath)")
            }
        }
    }

    // MARK: Buildpack files

    static func buildpacks(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        _ = try? BuildpackReference.parseList(text)
        _ = try? BuildpackReference.parseConfigVar(text)
    }

    static func release(_ data: Data) {
        let yaml = String(decoding: data, as: UTF8.self)
        // Any bytes: a declaration or an error naming the buildpack, never a crash.
        do {
            _ = try ReleaseDeclaration.parse(yaml, buildpack: "fuzz")
        } catch let error as BuildpackError {
            guard error.message.hasPrefix("fuzz: bin/release") else { fatalError("an error that does not name the buildpack: \(error.message)") }
        } catch {
            fatalError("ReleaseDeclaration.parse threw \(error), not a BuildpackError")
        }
    }

    // MARK: Signatures

    /// A fixed farm key, so that seeds signed by one run verify in the next.
    static let farmKey: FarmKey = {
        let seed = Data(repeating: 0x4b, count: 32)
        // PKCS#8 for Ed25519 (RFC 8410): a fixed prefix, then the 32-byte seed.
        let der = Data([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]) + seed
        let pem = "-----BEGIN PRIVATE KEY-----\n\(der.base64EncodedString())\n-----END PRIVATE KEY-----\n"
        let file = scratch.appendingPathComponent("farm-key.pem")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600])
        do {
            return try FarmKey.load(from: file)
        } catch {
            fatalError("cannot load the fuzzing farm key: \(error)")
        }
    }()

    /// Splits an input into a signature and a manifest: the first byte is the
    /// signature's length (an Ed25519 signature is 64 bytes).
    static func signatureAndManifest(_ data: Data) -> (signature: Data, manifest: Data) {
        guard let length = data.first else { return (Data(), Data()) }
        let rest = data.dropFirst()
        let split = rest.index(rest.startIndex, offsetBy: min(Int(length), rest.count))
        return (Data(rest[..<split]), Data(rest[split...]))
    }

    static func slugManifest(_ data: Data) {
        let (signature, manifest) = signatureAndManifest(data)
        let key = farmKey.publicKey
        _ = try? SlugManifest.decode(manifest)
        _ = try? SignedSlug.verify(manifest: manifest, signature: signature, slug: nil, with: key)
        _ = try? SignedSlug.verify(manifest: manifest, signature: signature, slug: nil, with: [key, key])
        // What the farm signs, it must accept.
        guard let signed = try? farmKey.sign(manifest) else { fatalError("the farm key cannot sign \(manifest.count) bytes") }
        guard let decoded = try? SlugManifest.decode(manifest) else { return }
        do {
            let verified = try SignedSlug.verify(manifest: manifest, signature: signed, slug: nil, with: key)
            guard verified == decoded else { fatalError("verify returned another manifest than the one signed") }
        } catch {
            // Only a key_id naming another key may refuse the farm's own signature.
            if let id = decoded.keyID, id != key.id { return }
            fatalError("a manifest signed by the farm was refused: \(error)")
        }
    }

    /// A secret fixed for the same reason as ``farmKey``.
    static let urlSigner = URLSigner(secret: Data(repeating: 0x55, count: 32))

    /// Parses the input as a request target, `/slugs/HEX?expires=T&signature=S`,
    /// the way the slug routes read one, and checks it.
    static func signedURL(_ data: Data) {
        let target = String(decoding: data, as: UTF8.self)
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let field = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(field[0]).removingPercentEncoding ?? String(field[0])
                let value = field.count > 1 ? (String(field[1]).removingPercentEncoding ?? String(field[1])) : ""
                query[name] = value
            }
        }
        if let expires = query["expires"].flatMap({ Int($0) }), let signature = query["signature"] {
            _ = urlSigner.check(method: "GET", path: path, expires: expires, signature: signature)
        }
        // What the farm signs, it must accept, and only until it expires.
        let expires = query["expires"].flatMap { Int($0) } ?? 4_000_000_000
        let signature = urlSigner.signature(method: "GET", path: path, expires: expires)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let verdict = urlSigner.check(method: "GET", path: path, expires: expires, signature: signature, now: now)
        guard verdict == (Double(expires) < now.timeIntervalSince1970 ? .expired : .valid) else {
            fatalError("the farm's own signature of \(path) until \(expires) was judged \(verdict)")
        }
        if urlSigner.check(method: "PUT", path: path, expires: expires, signature: signature, now: now) != .badSignature {
            fatalError("a GET signature of \(path) was accepted for PUT")
        }
    }
}
