import Foundation
import Hummingbird
import KilnBlobStore
import KilnQueue
import KilnSigning

/// Signed slug URLs (docs/slug-protocol.md), which `POST /api/builds/:id/slug-url`
/// makes (``APIHandler``): `GET /slugs/SHA256` serves the slug to whoever holds a
/// valid URL, with Range support, and `/slugs/SHA256/manifest.json` and
/// `/manifest.json.sig` its signed manifest under the same signature (the
/// slug's). By hand (docs/api.md): byte ranges of a file streamed from disk.
struct SlugRoutes: Sendable {
    let queue: BuildQueue
    let blobs: BlobStorage
    let signer: URLSigner

    func register(on router: Router<BasicRequestContext>) {
        router.get("slugs/:digest") { request, context in
            let digest = try authorize(request, context)
            return try await serve(digest, request: request, context: context, contentType: "application/octet-stream")
        }
        for (name, keyPath) in [("manifest.json", \Build.manifestDigest), ("manifest.json.sig", \Build.signatureDigest)] {
            router.get("slugs/:digest/\(name)") { request, context in
                let digest = try authorize(request, context)
                guard let build = try await queue.build(slugDigest: digest.hex), let hex = build[keyPath: keyPath], let blob = BlobDigest(hex) else {
                    throw HTTPError(.notFound, message: "no build of this farm made the slug \(digest.hex)")
                }
                return try await serve(blob, request: request, context: context, contentType: name.hasSuffix(".json") ? "application/json" : "application/octet-stream")
            }
        }
    }

    /// Checks the URL's signature over the slug's path; returns the slug's digest.
    func authorize(_ request: Request, _ context: BasicRequestContext) throws -> BlobDigest {
        let hex = try context.parameters.require("digest")
        let query = request.uri.queryParameters
        try signer.authorize(path: "/slugs/\(hex)", expires: query.get("expires", as: Int.self), signature: query.get("signature").map { String($0) },
                             unsigned: "this URL is not signed: get one with `kiln slug url BUILD_ID`")
        guard let digest = BlobDigest(hex) else { throw HTTPError(.notFound, message: "\(hex) is not a SHA-256") }
        return digest
    }

    /// Streams a blob, whole or the one byte range asked for.
    func serve(_ digest: BlobDigest, request: Request, context: BasicRequestContext, contentType: String) async throws -> Response {
        let path = try await localFile(digest, blobs: blobs)
        var info = stat()
        guard stat(path, &info) == 0 else { throw HTTPError(.notFound, message: "the blob \(digest.hex) is not in this farm's store") }
        let size = Int(info.st_size)
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = "\"\(digest.hex)\""
        guard let header = request.headers[.range] else {
            headers[.contentLength] = "\(size)"
            return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: path, context: context))
        }
        switch ByteRange.parse(header, size: size) {
        case .whole:
            headers[.contentLength] = "\(size)"
            return Response(status: .ok, headers: headers, body: try await FileIO().loadFile(path: path, context: context))
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        case .range(let range):
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = "\(range.count)"
            return Response(status: .partialContent, headers: headers, body: try await FileIO().loadFile(path: path, range: range, context: context))
        }
    }
}

/// One `Range: bytes=…` header against a body of `size` bytes.
enum ByteRange: Equatable {
    case whole
    case range(ClosedRange<Int>)
    case unsatisfiable

    /// `bytes=0-99`, `bytes=100-`, `bytes=-100`. Several ranges, or another
    /// unit, get the whole body (allowed by RFC 9110).
    static func parse(_ header: String, size: Int) -> ByteRange {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return .whole }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0 else { return .unsatisfiable }
            return size == 0 ? .unsatisfiable : .range(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int(parts[0]), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        let end = parts[1].isEmpty ? size - 1 : min(Int(parts[1]) ?? -1, size - 1)
        guard end >= start else { return parts[1].isEmpty ? .unsatisfiable : .whole }
        return .range(start...end)
    }
}
