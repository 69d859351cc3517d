import Foundation
import KilnCache
import Testing

/// The declarative rules in cache/ and the keys they make.
@Suite struct CacheRuleTests {
    @Test func theShippedRulesParse() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("cache")
        let rules = try CacheRule.load(from: directory)
        #expect(Set(rules.keys) == ["elixir", "node", "python"])
        #expect(rules["elixir"]?.keys == ["mix.lock"])
        #expect(rules["node"]?.directories == ["node_modules"])
        let (directories, used) = try #require(rules["elixir"]).resolvedDirectories(vars: [:])
        #expect(directories == ["deps", "_build/prod/lib"] && used == ["MIX_ENV": "prod"])
        #expect(try #require(rules["elixir"]).resolvedDirectories(vars: ["MIX_ENV": "staging"]).directories == ["deps", "_build/staging/lib"])
    }

    @Test func aBadRuleIsNamedWithItsLine() {
        let unknown = #expect(throws: CacheRuleError.self) { try CacheRule.parse("keys = a.lock\nlocks = b\n", builder: "x") }
        #expect(unknown?.description == "cache/x.rule line 2: unknown setting locks (keys, toolchain or directories)")
        let outside = #expect(throws: CacheRuleError.self) { try CacheRule.parse("keys = a.lock\ndirectories = ../up\n", builder: "x") }
        #expect(outside?.description == "cache/x.rule: ../up must be a path inside the app")
        let none = #expect(throws: CacheRuleError.self) { try CacheRule.parse("keys = a.lock\n", builder: "x") }
        #expect(none?.description == "cache/x.rule names no directories to cache")
    }

    @Test func aKeySaysWhatChanged() {
        let before = CacheKey(parts: [.init("stack", "heroku-22"), .init("toolchain node --version", "v18.0.0"), .init("file package-lock.json", "aaa")])
        let after = CacheKey(parts: [.init("stack", "heroku-22"), .init("toolchain node --version", "v20.1.0"), .init("file package-lock.json", "bbb"),
                                     .init("epoch", "app#1")])
        #expect(before.digest != after.digest)
        #expect(after.changes(since: before) == ["toolchain changed (v18.0.0 → v20.1.0)", "package-lock.json changed", "cache purged"])
        #expect(before.changes(since: before).isEmpty)
    }
}
