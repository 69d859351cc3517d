import Foundation
import KilnArchive
import KilnTestSupport
import Testing

/// Re-compressing a slug's tar without unpacking it, as a slug exported as an
/// image needs: the bytes read back are the tar's, and gzip without a
/// timestamp gives the same output however the input is fed.
@Suite struct CompressedStreamTests {
    static func tar(_ compression: ArchiveCompression) throws -> [UInt8] {
        var output: [UInt8] = []
        let writer = try ArchiveWriter(compression: compression) { output.append(contentsOf: $0) }
        try writer.write(ArchiveEntry(path: "app/", kind: .directory, permissions: 0o755), contents: Data())
        for index in 0..<200 {
            try writer.write(ArchiveEntry(path: "app/file\(index).txt", kind: .file, permissions: 0o644),
                             contents: Data(String(repeating: "line \(index) of a file in the slug\n", count: 100 + index).utf8))
        }
        try writer.finish()
        return output
    }

    static func gzipRaw(_ chunks: [ArraySlice<UInt8>]) throws -> [UInt8] {
        var output: [UInt8] = []
        let writer = try ArchiveWriter(compression: .gzip, level: 6, raw: true) { output.append(contentsOf: $0) }
        try writer.writeHeader(ArchiveEntry(path: "layer.tar", kind: .file, permissions: 0o644))
        for chunk in chunks { try chunk.withUnsafeBytes { try writer.writeData($0) } }
        try writer.finish()
        return output
    }

    @Test func aCompressedTarReadsBackAsItsBytesAndRecompressesTheSameWay() async throws {
        let plain = try Self.tar(.none)
        let directory = try TestEnvironment.temporaryDirectory("stream")
        for compression in [ArchiveCompression.zstd, .gzip] {
            let file = directory.appendingPathComponent("slug.\(compression.fileExtension)")
            try Data(try Self.tar(compression)).write(to: file)
            var read: [UInt8] = []
            try CompressedStream.read(file) { read.append(contentsOf: $0) }
            #expect(read == plain, "\(compression)")
        }

        // Fed whole or in odd chunks: the same gzip bytes, which gzip reads back as the tar.
        let whole = try Self.gzipRaw([plain[...]])
        let pieces = try Self.gzipRaw(stride(from: 0, to: plain.count, by: 777).map { plain[$0..<min($0 + 777, plain.count)] })
        #expect(whole == pieces)
        #expect(whole[4..<8] == [0, 0, 0, 0], "a gzip header without a timestamp")
        try Data(whole).write(to: directory.appendingPathComponent("layer.tar.gz"))
        try Data(plain).write(to: directory.appendingPathComponent("layer.tar"))
        let decoded = try await sh("sh", ["-c", "gzip -dc layer.tar.gz | cmp - layer.tar && echo same"], in: directory)
        #expect(decoded.output.contains("same"), "\(decoded.output)")

        // A truncated zstd file is an error, not a shorter stream.
        let truncated = directory.appendingPathComponent("cut.tar.zst")
        try Data(try Self.tar(.zstd).prefix(100)).write(to: truncated)
        #expect(throws: ArchiveError.self) { try CompressedStream.read(truncated) { _ in } }
    }
}
