import Foundation
@testable import KilnArchive
import KilnTestSupport
import Testing

/// The slug compressor: the same bytes whatever the number of threads (a
/// slug's digest must not depend on the worker's cores), readable by zstd.
@Suite struct ZstdWriterTests {
    static func compress(_ input: [UInt8], threads: Int, chunk: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        let writer = try ZstdWriter(level: 3, threads: threads) { output.append(contentsOf: $0) }
        for start in stride(from: 0, to: input.count, by: chunk) {
            try input[start..<min(start + chunk, input.count)].withUnsafeBytes { try writer.write($0) }
        }
        try writer.finish()
        return output
    }

    @Test func theSameInputGivesTheSameBytesOnAnyNumberOfThreadsAndZstdReadsThem() async throws {
        // 24 MB, half repetitive text and half noise: several of zstd's jobs.
        var generator = SystemRandomNumberGenerator()
        var input = [UInt8](repeating: 0, count: 24 << 20)
        for index in 0..<input.count {
            input[index] = index % (1 << 20) < (1 << 19) ? UInt8(truncatingIfNeeded: index / 7) : UInt8.random(in: 0...255, using: &generator)
        }
        let one = try Self.compress(input, threads: 1, chunk: 65536)
        let four = try Self.compress(input, threads: 4, chunk: 1000)
        #expect(one == four)
        #expect(one.count < input.count * 3 / 4)

        let directory = try TestEnvironment.temporaryDirectory("zstd")
        try Data(one).write(to: directory.appendingPathComponent("x.zst"))
        let decoded = try await sh("sh", ["-c", "zstd -dc x.zst | sha256sum"], in: directory)
        try Data(input).write(to: directory.appendingPathComponent("x"))
        let original = try await sh("sh", ["-c", "sha256sum < x"], in: directory)
        #expect(decoded.succeeded && decoded.output == original.output, "\(decoded.output)")
    }
}
