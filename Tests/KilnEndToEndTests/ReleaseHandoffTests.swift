import Foundation
import KilnProcess
import KilnTestSupport
import KilnWebhook
import Testing

/// Release hand-offs to a real HTTP receiver (Python's http.server on
/// loopback): one signed POST per release, retried while the receiver is
/// down, and rollbacks handed off the same way.
@Suite struct ReleaseHandoffTests {
    /// A receiver that appends each POST (headers and body) as a JSON line to
    /// `log` and answers 200, or, while the file `down` exists, to `refused`
    /// and answers 503.
    static func receiver(port: Int, directory: URL) -> Command {
        Command("python3", ["-c", """
            import http.server, json, os, sys
            directory = sys.argv[2]
            class Receiver(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers['Content-Length']))
                    down = os.path.exists(os.path.join(directory, 'down'))
                    with open(os.path.join(directory, 'refused' if down else 'log'), 'a') as log:
                        log.write(json.dumps({'headers': dict(self.headers), 'body': body.decode()}) + '\\n')
                    if down:
                        self.send_response(503); self.end_headers(); return
                    self.send_response(200); self.end_headers(); self.wfile.write(b'ok')
                def log_message(self, *args): pass
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Receiver).serve_forever()
            """, "\(port)", directory.path])
    }

    /// A POST as the receiver got it.
    struct Delivery {
        /// The body's JSON.
        var body: [String: Any]
        /// The body's exact bytes, which the signatures cover.
        var raw: Data
        var headers: [String: String]
        /// Whether `X-Kiln-Signature-256` verifies with the secret (checked by Python's hmac, apart from Kiln's code).
        var signed: Bool
        var key: String { headers["Idempotency-Key"] ?? "" }
    }

    /// The deliveries so far (`log`, answered 200; `refused`, answered 503).
    static func deliveries(_ directory: URL, secret: String, file: String = "log") async throws -> [Delivery] {
        let log = directory.appendingPathComponent(file)
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        var found: [Delivery] = []
        for line in text.split(separator: "\n") {
            let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let headers = try #require(entry["headers"] as? [String: String])
            let body = try #require(entry["body"] as? String)
            let expected = try await sh("python3", ["-c", "import hmac, hashlib, sys; print('sha256=' + hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())", secret, body])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            found.append(Delivery(body: json, raw: Data(body.utf8), headers: headers,
                                  signed: expected.output.trimmingCharacters(in: .whitespacesAndNewlines) == headers["X-Kiln-Signature-256"]))
        }
        return found
    }

    static func waitFor(_ count: Int, in directory: URL, secret: String, seconds: Int) async throws -> [Delivery] {
        for _ in 0..<(seconds * 10) {
            let found = try await deliveries(directory, secret: secret)
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await deliveries(directory, secret: secret)
    }

    @Test func eachReleaseIsHandedOffOnceSignedAndRetriedWhileTheReceiverIsDown() async throws {
        let port = try KilnFarm.freePort()
        let inbox = try TestEnvironment.temporaryDirectory("inbox")
        let secret = "a-shared-secret-of-the-release-service"
        try await withRunning([Self.receiver(port: port, directory: inbox)]) {
            try await KilnFarm.with(workers: 1) { farm in
                let key = try await farm.createApp("shipped")
                let noSecret = try await farm.kiln("apps", "set", "--app", "shipped", "--release-webhook", "http://127.0.0.1:\(port)/releases")
                #expect(!noSecret.succeeded && noSecret.output.contains("give --release-webhook-secret too"), "\(noSecret.output)")
                let set = try await farm.kiln("apps", "set", "--app", "shipped", "--release-webhook", "http://127.0.0.1:\(port)/releases",
                                              "--release-webhook-secret", secret)
                #expect(set.output.contains("release webhook http://127.0.0.1:\(port)/releases"), "\(set.output)")
                let repo = try await makeGitRepository(["Procfile": "web: ./run\n", "run*": "#!/bin/sh\necho run\n"])
                let pushed = try await sh("git", ["push", farm.remote("shipped", key: key), "main"], in: repo)
                #expect(pushed.succeeded, "\(pushed.output)")

                let first = try await Self.waitFor(1, in: inbox, secret: secret, seconds: 20)
                try #require(first.count == 1, "deliveries: \(first.map(\.body))")
                let handoff = first[0]
                #expect(handoff.signed, "the signature header does not verify")
                // The timestamped signature verifies with the app's secret as delivered; the same captured
                // delivery replayed to a receiver whose clock reads 10 minutes later, or with one byte of its
                // body altered, is refused.
                let stamp = try #require(handoff.headers["X-Kiln-Signature"], "\(handoff.headers)")
                #expect(stamp.wholeMatch(of: /t=\d+,v1=[0-9a-f]{64}/) != nil, "\(stamp)")
                let signedAt = try Webhook.verify(header: stamp, body: handoff.raw, secret: secret)
                #expect(abs(signedAt.timeIntervalSinceNow) < 60, "signed at \(signedAt)")
                let replayed = #expect(throws: WebhookSignatureError.self) {
                    try Webhook.verify(header: stamp, body: handoff.raw, secret: secret, now: Date().addingTimeInterval(600))
                }
                #expect(replayed?.code == .outsideTolerance && replayed?.message.contains("outside the 300 s window: a replay") == true,
                        "\(String(describing: replayed))")
                var altered = handoff.raw
                let digit = try #require(altered.firstIndex(of: UInt8(ascii: "1")), "a version digit in the body")
                altered[digit] = UInt8(ascii: "2")
                let tampered = #expect(throws: WebhookSignatureError.self) {
                    try Webhook.verify(header: stamp, body: altered, secret: secret)
                }
                #expect(tampered?.code == .noMatchingSignature, "\(String(describing: tampered))")
                #expect(throws: WebhookSignatureError.self) {
                    try Webhook.verify(header: stamp, body: handoff.raw, secret: secret + "-not-the-app's")
                }
                #expect(handoff.key == "b-1")
                #expect(handoff.body["app"] as? String == "shipped" && handoff.body["version"] as? Int == 1 && handoff.body["build"] as? String == "b-1")
                #expect((handoff.body["process_types"] as? [String: String])?["web"] == "./run")
                #expect(handoff.body["manifest"] is String && handoff.body["manifest_signature"] is String)
                // The release service fetches and verifies the slug from the hand-off alone.
                let slug = try #require(handoff.body["slug"] as? [String: Any])
                let pem = try TestEnvironment.temporaryDirectory("pem").appendingPathComponent("farm.pem")
                try (try await farm.kiln("keys", "public")).output.write(to: pem, atomically: true, encoding: .utf8)
                let fetched = try await farm.kiln("slug", "fetch", try #require(slug["url"] as? String), "--public-key", pem.path,
                                                  "-o", try TestEnvironment.temporaryDirectory("fetched").path)
                #expect(fetched.succeeded && fetched.output.contains("sha256 \(slug["sha256"] as? String ?? "?")"), "\(fetched.output)")

                // Where the time went: one line in the push's output, every phase in the build's record, the hand-off included.
                let summary = try #require(pushed.output.split(separator: "\n").first { $0.contains("-----> Timings: ") }, "\(pushed.output)")
                #expect(summary.contains("queue ") && summary.contains("compile ") && summary.contains("pack "), "\(summary)")
                var timings: [String: Int] = [:]
                for _ in 0..<50 where timings["handoff"] == nil {
                    // The sender records the hand-off's time once the receiver's answer is in.
                    let record = try await farm.kiln("builds", "list", "--app", "shipped", "--json")
                    let builds = try #require(try JSONSerialization.jsonObject(with: Data(record.output.utf8)) as? [[String: Any]])
                    timings = try #require(builds.first?["timings"] as? [String: Int], "\(record.output)")
                    if timings["handoff"] == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                for phase in ["queue", "fetch", "detect", "restore", "compile", "save", "pack", "sign", "upload", "handoff"] {
                    #expect(timings[phase] != nil, "\(phase) in \(timings)")
                }
                #expect(try await farm.kiln("builds", "show", "b-1").output.contains("handoff "))

                // The receiver is down: the hand-off waits, is retried, and arrives once when it is back.
                FileManager.default.createFile(atPath: inbox.appendingPathComponent("down").path, contents: nil)
                try await sh("git", ["commit", "-q", "--allow-empty", "-m", "second"], in: repo)
                let second = try await sh("git", ["push", farm.remote("shipped", key: key), "main"], in: repo)
                #expect(second.succeeded, "\(second.output)")
                // At least two attempts refused: how many more depends on how busy the machine is.
                var pending = "", attempts = 0
                for _ in 0..<100 {
                    pending = try await farm.kiln("releases", "--app", "shipped").output
                    attempts = pending.firstMatch(of: /pending \(attempt (\d+): HTTP 503\)/).flatMap { Int($0.1) } ?? 0
                    if attempts >= 2 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(attempts >= 2, "\(pending)")
                try FileManager.default.removeItem(at: inbox.appendingPathComponent("down"))
                let both = try await Self.waitFor(2, in: inbox, secret: secret, seconds: 30)
                #expect(both.count == 2 && both[1].key == "b-2" && both[1].body["version"] as? Int == 2, "\(both.map(\.key))")
                // Each attempt was signed when it was made: every one verifies, each later than the last.
                let refused = try await Self.deliveries(inbox, secret: secret, file: "refused")
                #expect(refused.count >= 2 && refused.allSatisfy { $0.key == "b-2" && $0.signed }, "\(refused.map(\.key))")
                var times: [Date] = []
                for attempt in refused + both.suffix(1) {
                    times.append(try Webhook.verify(header: attempt.headers["X-Kiln-Signature"], body: attempt.raw, secret: secret))
                }
                #expect(times == times.sorted() && Set(times).count == times.count, "signed at \(times)")

                // A rollback is a new release of the old slug and config, handed off the same way.
                let rolled = try await farm.kiln("rollback", "--app", "shipped", "v1")
                #expect(rolled.succeeded && rolled.output.contains("shipped v3: Rollback to v1"), "\(rolled.output)")
                let three = try await Self.waitFor(3, in: inbox, secret: secret, seconds: 20)
                #expect(three.count == 3 && three[2].key == "shipped-v3" && three[2].body["description"] as? String == "Rollback to v1", "\(three.map(\.key))")
                #expect((three[2].body["slug"] as? [String: Any])?["sha256"] as? String == slug["sha256"] as? String)
                let releases = try await farm.kiln("releases", "--app", "shipped")
                #expect(releases.output.contains("Rollback to v1") && releases.output.contains("Deploy b-2"), "\(releases.output)")
                #expect(!releases.output.contains("pending"), "\(releases.output)")

                // Nothing more arrives: each release once.
                try await Task.sleep(for: .seconds(2))
                #expect(try await Self.deliveries(inbox, secret: secret).count == 3)
            }
        }
    }
}
