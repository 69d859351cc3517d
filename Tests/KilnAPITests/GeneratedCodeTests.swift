import Crypto
import Foundation
import KilnAPI
import Testing

/// The generated code in Sources/KilnAPI/Generated is committed, not built by
/// CI: these tests fail when docs/openapi.yaml or the generator's configuration
/// changed without `bash scripts/generate-api.sh`.
@Suite struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sha256(_ relative: String) throws -> String {
        let data = try Data(contentsOf: root.appendingPathComponent(relative))
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    @Test("the generated code was generated from the spec as it is now")
    func specMatches() throws {
        #expect(GeneratedFrom.specSHA256 == (try Self.sha256("docs/openapi.yaml")),
                "docs/openapi.yaml changed since the code was generated: run `bash scripts/generate-api.sh` and commit Sources/KilnAPI/Generated")
    }

    @Test("the generated code was generated with the configuration as it is now")
    func configMatches() throws {
        #expect(GeneratedFrom.configSHA256 == (try Self.sha256("scripts/openapi-generator-config.yaml")),
                "scripts/openapi-generator-config.yaml changed since the code was generated: run `bash scripts/generate-api.sh`")
        #expect(GeneratedFrom.generatorVersion == "1.14.3")
    }

    @Test("every generated file names the spec and configuration it came from, and none was left behind")
    func headersMatch() throws {
        let directory = Self.root.appendingPathComponent("Sources/KilnAPI/Generated")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }.sorted()
        #expect(files.contains("Server.swift") && files.contains("Client.swift") && files.contains("Types.swift"))
        let expected = "(sha256 \(GeneratedFrom.specSHA256)) with swift-openapi-generator \(GeneratedFrom.generatorVersion) and scripts/openapi-generator-config.yaml (sha256 \(GeneratedFrom.configSHA256))"
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            let header = text.prefix { $0 != "\n" }
            #expect(header.contains(expected), "\(file) was not generated with the others: run `bash scripts/generate-api.sh`")
        }
    }
}
