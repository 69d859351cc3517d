import Foundation
import KilnProcess

/// A real S3-compatible server for tests: `moto_server` on loopback with
/// signature checking on. Moto checks SigV4 only for access keys its own IAM
/// issued, so the first three (unauthenticated) actions create a user, give
/// it every permission and make its key; every request after that must be
/// signed with that key.
public struct ObjectStoreServer: Sendable {
    public let endpoint: String
    public let accessKey: String
    public let secretKey: String

    /// Runs `body` with a fresh server; it stops when `body` returns.
    /// Listens on `host`, inside the network namespace `namespace` when one is named.
    public static func with<T: Sendable>(host: String = "127.0.0.1", namespace: String? = nil,
                                         _ body: @escaping @Sendable (ObjectStoreServer) async throws -> T) async throws -> T {
        // A free port is free when asked, not always when moto binds it: another
        // test's server may take it in between and answer for it. Then the
        // bootstrap fails (that server's unauthenticated actions are used up),
        // and a new server on a new port is started; `body` runs once.
        var attempt = 1
        while true {
            do {
                return try await start(host: host, namespace: namespace, body)
            } catch let failure as BootstrapFailure where attempt < 3 {
                print("moto_server did not start cleanly (\(failure.error)); trying another port")
                attempt += 1
            } catch let failure as BootstrapFailure {
                throw failure.error
            }
        }
    }

    /// A server that could not be set up, before `body` ran.
    struct BootstrapFailure: Error {
        let error: TestSetupError
    }

    static func start<T: Sendable>(host: String, namespace: String?,
                                   _ body: @escaping @Sendable (ObjectStoreServer) async throws -> T) async throws -> T {
        let port = try KilnFarm.freePort()
        let endpoint = "http://\(host):\(port)"
        let arguments = ["moto_server", "-H", host, "-p", "\(port)"]
        let moto = Command(namespace == nil ? arguments[0] : "ip", (namespace.map { ["netns", "exec", $0] } ?? []) + (namespace == nil ? Array(arguments.dropFirst()) : arguments),
                           environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"])
        return try await withRunning([moto]) {
            var ready = false
            for _ in 0..<150 where !ready {
                // /moto-api/ is not an AWS action: it does not use up the unauthenticated ones.
                ready = (try? await sh("curl", ["-s", "-o", "/dev/null", "\(endpoint)/moto-api/"]))?.succeeded == true
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard ready else { throw BootstrapFailure(error: TestSetupError("moto_server did not start on \(endpoint)")) }
            func iam(_ query: String) async throws -> String {
                // Unsigned as far as moto cares: these are the three actions it lets through.
                let outcome = try await sh("curl", ["-sf", "--aws-sigv4", "aws:amz:us-east-1:iam", "-u", "bootstrap:bootstrap", "\(endpoint)/?\(query)&Version=2010-05-08"])
                guard outcome.succeeded else { throw BootstrapFailure(error: TestSetupError("moto's IAM refused \(query): \(outcome.output)")) }
                return outcome.output
            }
            _ = try await iam("Action=CreateUser&UserName=kiln")
            let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            _ = try await iam("Action=PutUserPolicy&UserName=kiln&PolicyName=everything&PolicyDocument=\(policy.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            let key = try await iam("Action=CreateAccessKey&UserName=kiln")
            func element(_ name: String) throws -> String {
                guard let start = key.range(of: "<\(name)>"), let end = key.range(of: "</\(name)>") else {
                    throw BootstrapFailure(error: TestSetupError("no \(name) in \(key)"))
                }
                return String(key[start.upperBound..<end.lowerBound])
            }
            return try await body(ObjectStoreServer(endpoint: endpoint, accessKey: try element("AccessKeyId"), secretKey: try element("SecretAccessKey")))
        }
    }

    /// Creates a bucket with the curl command line (its own SigV4), apart from Kiln's client.
    public func createBucket(_ name: String) async throws {
        let outcome = try await sh("curl", ["-sf", "-X", "PUT", "--aws-sigv4", "aws:amz:us-east-1:s3", "-u", "\(accessKey):\(secretKey)",
                                            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "\(endpoint)/\(name)"])
        guard outcome.succeeded else { throw TestSetupError("cannot create the bucket \(name): \(outcome.output)") }
    }

    /// The keys in `bucket` (up to 1000), listed with the curl command line.
    public func keys(in bucket: String) async throws -> [String] {
        try await elements("Key", listing: "\(bucket)?list-type=2")
    }

    /// The IDs of the multipart uploads still open in `bucket`.
    public func openUploads(in bucket: String) async throws -> [String] {
        try await elements("UploadId", listing: "\(bucket)?uploads=")
    }

    private func elements(_ name: String, listing path: String) async throws -> [String] {
        let outcome = try await sh("curl", ["-sf", "--aws-sigv4", "aws:amz:us-east-1:s3", "-u", "\(accessKey):\(secretKey)",
                                            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "\(endpoint)/\(path)"])
        guard outcome.succeeded else { throw TestSetupError("cannot list \(path): \(outcome.output)") }
        return outcome.output.components(separatedBy: "<\(name)>").dropFirst().compactMap { $0.components(separatedBy: "</\(name)>").first }
    }

    /// The AWS variables that sign for this server's user.
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey]
    }

    /// A proxy in front of `endpoint` that fails some requests the way a
    /// struggling object store does: every fourth answers 503 SlowDown, every
    /// ninth is dropped without an answer. It counts its faults in `directory/faults`.
    public static func faultyProxy(to endpoint: String, port: Int, directory: URL) -> Command {
        Command("python3", ["-c", """
            import http.client, http.server, os, sys, threading
            upstream = sys.argv[2].split('//')[1]
            directory = sys.argv[3]
            lock = threading.Lock()
            state = {'seen': 0, 'faults': 0}
            class Proxy(http.server.BaseHTTPRequestHandler):
                protocol_version = 'HTTP/1.1'
                def relay(self):
                    length = int(self.headers.get('Content-Length') or 0)
                    body = self.rfile.read(length) if length else b''
                    with lock:
                        state['seen'] += 1
                        seen = state['seen']
                        fault = seen % 4 == 2 or seen % 9 == 5
                        if fault:
                            state['faults'] += 1
                            with open(os.path.join(directory, 'faults'), 'w') as f: f.write(str(state['faults']))
                    if seen % 9 == 5:
                        self.close_connection = True
                        return
                    if seen % 4 == 2:
                        answer = b'<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
                        self.send_response(503); self.send_header('Content-Length', str(len(answer))); self.end_headers()
                        self.wfile.write(answer); return
                    headers = {k: v for k, v in self.headers.items() if k.lower() != 'expect'}
                    connection = http.client.HTTPConnection(upstream, timeout=60)
                    connection.request(self.command, self.path, body=body if length else None, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    self.send_response(response.status)
                    for k, v in response.getheaders():
                        if k.lower() not in ('content-length', 'transfer-encoding', 'connection', 'server', 'date'):
                            self.send_header(k, v)
                    self.send_header('Content-Length', str(response.getheader('Content-Length') if self.command == 'HEAD' else len(data)))
                    self.end_headers()
                    if self.command != 'HEAD': self.wfile.write(data)
                    connection.close()
                do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay
                def log_message(self, *args): pass
            http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Proxy).serve_forever()
            """, "\(port)", endpoint, directory.path])
    }
}
