import Crypto
import Foundation

extension S3BlobStore {
    /// Uploads `size` bytes of the open file in parts of `settings.partSize`:
    /// each part is retried on its own, and an upload that fails for good is
    /// aborted so that the bucket keeps no orphaned parts.
    func uploadInParts(_ descriptor: Int32, size: Int64, key: String, digestHex: String, what: String) throws {
        let started = try client.withRetries("\(what): start a multipart upload") { try client.attempt("POST", key: key, query: "uploads=") }
        guard (200...299).contains(started.status),
              let uploadID = S3Client.Answer.element("UploadId", in: String(decoding: started.body, as: UTF8.self)) else {
            throw client.failure("\(what): start a multipart upload", started)
        }
        let uploadQuery = "uploadId=\(S3Settings.escape(uploadID))"
        // S3 takes at most 10,000 parts: bigger parts for a bigger blob, in whole MiB.
        let partSize = max(settings.partSize, (((size + 9_999) / 10_000 + (1 << 20) - 1) >> 20) << 20)
        do {
            var etags: [String] = []
            var offset: Int64 = 0
            // The parts' bytes hashed as one: the blob is completed only if they are the blob.
            var whole = SHA256()
            while offset < size {
                let length = min(partSize, size - offset)
                let number = etags.count + 1
                let sha256 = try Self.sha256(of: descriptor, offset: offset, length: length, also: &whole)
                let answer = try client.withRetries("\(what): part \(number)") {
                    try client.attempt("PUT", key: key, query: "partNumber=\(number)&\(uploadQuery)",
                                       body: .file(descriptor: descriptor, offset: offset, length: length, sha256: sha256))
                }
                guard (200...299).contains(answer.status), !answer.etag.isEmpty else { throw client.failure("\(what): part \(number)", answer) }
                etags.append(answer.etag)
                offset += length
            }
            guard whole.finalize().map({ String(format: "%02x", $0) }).joined() == digestHex else {
                throw S3Error("\(what): the file changed while it was uploaded (its bytes are not the blob's any more); nothing was stored")
            }
            let parts = etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(Self.xmlEscape($0.element))</ETag></Part>" }
            let body = Data("<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>".utf8)
            let completed = try client.withRetries("\(what): complete the multipart upload") {
                // S3 may take minutes to assemble a big object, sending only spaces meanwhile: no stall limit here.
                var answer = try client.attempt("POST", key: key, query: uploadQuery, body: .data(body), headers: ["Content-Type: application/xml"],
                                                stall: .zero, timeout: .seconds(900))
                // S3 may answer 200 and report the failure in the body, to be retried like a 5xx.
                if answer.status == 200, let error = answer.s3Error {
                    answer.status = error.code == "InternalError" || error.code == "SlowDown" ? 503 : 400
                }
                return answer
            }
            guard (200...299).contains(completed.status) else { throw client.failure("\(what): complete the multipart upload", completed) }
        } catch {
            // A completion whose answer was lost, then retried, is refused as NoSuchUpload though the object is whole
            // (or another host stored the same blob meanwhile). Either way this upload's parts, if any remain, go.
            let stored = (try? client.attempt("HEAD", key: key))?.status == 200
            _ = try? client.withRetries("\(what): abort the multipart upload") { try client.attempt("DELETE", key: key, query: uploadQuery) }
            if stored { return }
            throw error
        }
    }

    /// The SHA-256 of a range of the file, so that S3 checks each part as it arrives.
    static func sha256(of descriptor: Int32, offset: Int64, length: Int64, also whole: inout SHA256) throws -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var done: Int64 = 0
        while done < length {
            let wanted = Int(min(Int64(buffer.count), length - done))
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, off_t(offset + done)) }
            guard count > 0 else { throw S3Error("cannot read the file to upload: \(count == 0 ? "it is shorter than it was" : String(cString: strerror(errno)))") }
            buffer.withUnsafeBytes {
                let bytes = UnsafeRawBufferPointer(rebasing: $0.prefix(count))
                hasher.update(bufferPointer: bytes)
                whole.update(bufferPointer: bytes)
            }
            done += Int64(count)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func xmlEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
