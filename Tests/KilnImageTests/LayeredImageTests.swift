import Foundation
import KilnConfine
import KilnImage
import KilnTestSupport
import Synchronization
import Testing

/// Images composed from a base and layers of directories and in-memory files, pushed to a real registry.
@Suite struct LayeredImageTests {
    /// Log lines collected from the exporter.
    final class Lines: Sendable {
        private let kept = Mutex<[String]>([])
        func append(_ line: String) { kept.withLock { $0.append(line) } }
        var all: [String] { kept.withLock { $0 } }
    }

    func exporter(_ registry: ImageRegistry, base: String) throws -> LayeredImage {
        LayeredImage(registry: try RegistrySettings("\(registry.host)/kiln", insecure: true), base: base)
    }

    /// An app directory: a page, an executable, a link, a nested directory, owned by whoever made it.
    func appDirectory() throws -> URL {
        let app = try TestEnvironment.temporaryDirectory("layered-app")
        try writeFiles(["public/index.html": "hello from the layer\n", "bin/start": "#!/bin/sh\necho started\n",
                        "public/deep/nested/note.txt": "deep\n"], in: app)
        chmod(app.appendingPathComponent("bin/start").path, 0o4750) // setuid is dropped, the rest kept
        chmod(app.appendingPathComponent("public/deep").path, 0o700)
        chmod(app.appendingPathComponent("public/index.html").path, 0o640)
        try writeLinks(["public/home.html": "index.html"], in: app)
        return app
    }

    /// A small launcher layer, given in memory.
    var launcherFiles: [ImageLayerFile] {
        [
            .file("/cnb/lifecycle/launcher", Data("#!/bin/sh\nexec \"$@\"\n".utf8), executable: true),
            .link("/cnb/process/web", to: "../lifecycle/launcher"),
            .file("/cnb/kiln-launch", Data("web\n".utf8)),
        ]
    }

    /// The image pulled and unpacked as a runtime would: its root file system, its config's `config`, its layout.
    func unpack(_ image: String) async throws -> (rootfs: URL, config: [String: Any], layout: URL) {
        let work = try TestEnvironment.temporaryDirectory("layered-unpack")
        let layout = work.appendingPathComponent("layout"), rootfs = work.appendingPathComponent("rootfs")
        let copy = try await sh("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(image)", "oci:\(layout.path):run"])
        #expect(copy.succeeded, "\(copy.output)")
        let unpack = try await sh("umoci", ["raw", "unpack", "--image", "\(layout.path):run", rootfs.path])
        #expect(unpack.succeeded, "\(unpack.output)")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: layout.appendingPathComponent("index.json"))) as? [String: Any]
        let manifestDigest = try #require((index?["manifests"] as? [[String: Any]])?.first?["digest"] as? String)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: blob(manifestDigest, in: layout))) as? [String: Any]
        let configDigest = try #require((manifest?["config"] as? [String: Any])?["digest"] as? String)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: blob(configDigest, in: layout))) as? [String: Any]
        return (rootfs, try #require(config), layout)
    }

    func blob(_ digest: String, in layout: URL) -> URL {
        layout.appendingPathComponent("blobs/sha256/\(digest.dropFirst(7))")
    }

    func attributes(_ url: URL) throws -> (mode: Int, uid: Int, gid: Int, type: FileAttributeType?) {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return ((attributes[.posixPermissions] as? Int) ?? -1, (attributes[.ownerAccountID] as? Int) ?? -1,
                (attributes[.groupOwnerAccountID] as? Int) ?? -1, attributes[.type] as? FileAttributeType)
    }

    @Test func directoryAndFileLayersArePushedWithTheirModesLinksOwnersAndConfig() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            let app = try appDirectory()
            #expect(link(app.appendingPathComponent("bin/start").path, app.appendingPathComponent("bin/again").path) == 0)
            let lines = Lines()
            let exported = try await exporter(registry, base: base).export([
                .directory(app, at: "/workspace", uid: 1234, gid: 2345, comment: "app"),
                .files(launcherFiles, comment: "launcher"),
            ], config: .init(env: ["APP_MODE": "layered", "PATH": "/cnb/process:/bin"], entrypoint: ["/cnb/process/web"],
                             workingDir: "/workspace", labels: ["dev.kiln.test.layered": "yes"]),
            annotations: ["dev.kiln.test": "annotated"], app: "layered", tag: "v1",
            scratch: try TestEnvironment.temporaryDirectory("layered-scratch"), log: { lines.append($0) })

            #expect(exported.reference.repository == "\(registry.host)/kiln/layered" && exported.reference.digest != nil)
            #expect(exported.layers.map(\.comment) == ["app", "launcher"] && exported.layers.allSatisfy { !$0.reused })
            #expect(exported.config.entrypoint == ["/cnb/process/web"] && exported.config.cmd.isEmpty)
            #expect(exported.config.labels["dev.kiln.test.layered"] == "yes" && exported.config.labels["dev.kiln.test"] == "base")
            #expect(lines.all.filter { $0.contains("-----> Layer") && $0.hasSuffix("new") }.count == 2, "\(lines.all)")
            #expect(lines.all.last?.contains(exported.reference.description) == true)
            let manifest = try await registry.manifest(exported.reference.description)
            let annotations = manifest["annotations"] as? [String: String] ?? [:]
            #expect(annotations["dev.kiln.test"] == "annotated" && annotations["org.opencontainers.image.base.name"] == base)
            #expect(annotations["org.opencontainers.image.base.digest"] == exported.baseDigest)

            let (rootfs, image, _) = try await unpack(exported.reference.description)
            let workspace = rootfs.appendingPathComponent("workspace")
            #expect(try String(contentsOf: workspace.appendingPathComponent("public/index.html"), encoding: .utf8) == "hello from the layer\n")
            #expect(try attributes(workspace.appendingPathComponent("public/index.html")).mode == 0o640)
            let start = try attributes(workspace.appendingPathComponent("bin/start"))
            #expect(start.mode == 0o750 && start.uid == 1234 && start.gid == 2345)
            #expect(try attributes(workspace).uid == 1234)
            // A hard link is a plain file of its own.
            #expect(try attributes(workspace.appendingPathComponent("bin/again")).type == .typeRegular)
            #expect(try String(contentsOf: workspace.appendingPathComponent("bin/again"), encoding: .utf8) == "#!/bin/sh\necho started\n")
            #expect(try attributes(workspace.appendingPathComponent("public/deep")).mode == 0o700)
            #expect(try String(contentsOf: workspace.appendingPathComponent("public/deep/nested/note.txt"), encoding: .utf8) == "deep\n")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: workspace.appendingPathComponent("public/home.html").path) == "index.html")
            let launcher = try attributes(rootfs.appendingPathComponent("cnb/lifecycle/launcher"))
            #expect(launcher.mode == 0o755 && launcher.uid == 0 && launcher.type == .typeRegular)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs.appendingPathComponent("cnb/process/web").path) == "../lifecycle/launcher")
            #expect(try attributes(rootfs.appendingPathComponent("cnb/kiln-launch")).mode == 0o644)
            let parent = try attributes(rootfs.appendingPathComponent("cnb"))
            #expect(parent.mode == 0o755 && parent.uid == 0 && parent.gid == 0)
            #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("bin/busybox").path))

            let config = image["config"] as? [String: Any] ?? [:]
            #expect(config["Env"] as? [String] == ["PATH=/cnb/process:/bin", "APP_MODE=layered"])
            #expect(config["Entrypoint"] as? [String] == ["/cnb/process/web"])
            #expect(config["WorkingDir"] as? String == "/workspace")
            #expect(image["created"] as? String == "1970-01-01T00:00:00Z")
            let history = image["history"] as? [[String: Any]] ?? []
            #expect(history.suffix(2).compactMap { $0["comment"] as? String } == ["app", "launcher"])
            #expect(((image["rootfs"] as? [String: Any])?["diff_ids"] as? [String])?.suffix(2) == exported.layers.map(\.diffID)[...])
        }
    }

    @Test func theImageRuns() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            // Readable by the build user the image runs as.
            let app = try TestEnvironment.temporaryDirectory("layered-app")
            try writeFiles(["public/index.html": "hello from the layer\n"], in: app)
            try writeLinks(["public/home.html": "index.html"], in: app)
            let exported = try await exporter(registry, base: base).export([
                .directory(app, at: "/workspace", uid: 1234, gid: 2345, comment: "app"),
                .files(launcherFiles, comment: "launcher"),
            ], config: .init(entrypoint: ["/cnb/process/web", "/bin/sh", "-c", "exec httpd -f -p \"$PORT\" -h /workspace/public"], workingDir: "/workspace"),
            app: "runs", tag: "v1", scratch: try TestEnvironment.temporaryDirectory("layered-scratch"), log: { _ in })
            try await ImageRun.serving(exported.reference.description, path: "/home.html") { serving in
                #expect(serving.body == "hello from the layer\n")
            }
        }
    }

    @Test func theSameInputsGiveTheSameDigestAndUnchangedLayersAreReused() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            let app = try appDirectory()
            let image = try exporter(registry, base: base)
            let config = LayeredImage.Config(env: ["A": "1"], entrypoint: ["/cnb/process/web"])
            func export(_ layers: [ImageLayerSource], tag: String, previous: ImageReference? = nil, lines: Lines = Lines()) async throws -> LayeredImage.Exported {
                try await image.export(layers, config: config, app: "again", tag: tag, previous: previous,
                                       scratch: try TestEnvironment.temporaryDirectory("layered-scratch"), log: { lines.append($0) })
            }
            let layers: [ImageLayerSource] = [
                .directory(app, at: "/workspace", uid: 1234, gid: 2345, comment: "app"),
                .files(launcherFiles, comment: "launcher"),
            ]
            let first = try await export(layers, tag: "v1")
            let second = try await export(layers, tag: "v2")
            #expect(first.reference.digest == second.reference.digest)
            #expect(first.layers == second.layers)

            // One layer changes: the other is recognised in the previous image.
            try "changed\n".write(to: app.appendingPathComponent("public/index.html"), atomically: false, encoding: .utf8)
            let lines = Lines()
            let third = try await export(layers, tag: "v3", previous: first.reference, lines: lines)
            #expect(third.layers.map(\.reused) == [false, true])
            #expect(third.layers[1] == LayeredImage.Exported.Layer(comment: "launcher", digest: first.layers[1].digest, diffID: first.layers[1].diffID,
                                                                    size: first.layers[1].size, reused: true))
            #expect(third.layers[0].digest != first.layers[0].digest)
            #expect(lines.all.contains { $0.contains("Layer app") && $0.hasSuffix("new") } && lines.all.contains { $0.contains("Layer launcher") && $0.hasSuffix("reused") })

            // A layer taken from the previous image as it is, without its contents.
            let fourth = try await export([layers[0], .reused(first.layers[1].digest, comment: "launcher, kept")], tag: "v4", previous: first.reference)
            #expect(fourth.layers[1].digest == first.layers[1].digest && fourth.layers[1].diffID == first.layers[1].diffID && fourth.layers[1].reused)
            #expect(fourth.layers[0].digest == third.layers[0].digest)
            let (rootfs, _, _) = try await unpack(fourth.reference.description)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs.appendingPathComponent("cnb/process/web").path) == "../lifecycle/launcher")
            #expect(try String(contentsOf: rootfs.appendingPathComponent("workspace/public/index.html"), encoding: .utf8) == "changed\n")

            // A layer the previous image does not have, or no previous image at all: refused, saying so.
            let missing = "sha256:" + String(repeating: "0", count: 64)
            let error = await #expect(throws: ImageError.self) { try await export([.reused(missing, comment: "gone")], tag: "v5", previous: first.reference) }
            #expect(error?.description.contains("has no layer \(missing)") == true, "\(String(describing: error))")
            let none = await #expect(throws: ImageError.self) { try await export([.reused(missing, comment: "gone")], tag: "v5") }
            #expect(none?.description.contains("no previous image was given") == true, "\(String(describing: none))")

            // A previous image that cannot be pulled is logged and the export goes on.
            let absent = ImageReference(repository: "\(registry.host)/kiln/absent", digest: missing)
            let unpulled = Lines()
            let fifth = try await export(layers, tag: "v5", previous: absent, lines: unpulled)
            #expect(fifth.layers.map(\.reused) == [false, false])
            #expect(unpulled.all.contains { $0.contains("previous image") && $0.contains("cannot be read") }, "\(unpulled.all)")
        }
    }

    @Test func aFifoInADirectoryLayerIsRefusedByName() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            let app = try appDirectory()
            #expect(mkfifo(app.appendingPathComponent("public/deep/pipe").path, 0o644) == 0)
            let error = await #expect(throws: ImageError.self) {
                try await exporter(registry, base: base).export([.directory(app, at: "/layers/x_y/node", comment: "node")], config: .init(),
                                                                app: "fifo", tag: "v1", scratch: try TestEnvironment.temporaryDirectory("layered-scratch"), log: { _ in })
            }
            let message = error?.description ?? ""
            #expect(message.contains("/layers/x_y/node") && message.contains("public/deep/pipe") && message.contains("a fifo"), "\(message)")
            #expect(try await registry.tags("kiln/fifo").isEmpty)
        }
    }

    @Test func aLinkInADirectoryLayerIsStoredAsALinkAndNeverFollowed() async throws {
        try await ImageRegistry.with { registry in
            let base = try await registry.pushBusyboxBase()
            let layer = try TestEnvironment.temporaryDirectory("layered-link")
            try writeLinks(["etc/shadow-copy": "/etc/shadow", "escape": "../../.."], in: layer)
            let exported = try await exporter(registry, base: base).export([.directory(layer, at: "/layers/x_y/node", uid: 1000, gid: 1000, comment: "node")],
                                                                            config: .init(), app: "link", tag: "v1",
                                                                            scratch: try TestEnvironment.temporaryDirectory("layered-scratch"), log: { _ in })
            let (rootfs, _, layout) = try await unpack(exported.reference.description)
            let link = rootfs.appendingPathComponent("layers/x_y/node/etc/shadow-copy")
            #expect(try attributes(link).type == .typeSymbolicLink)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "/etc/shadow")
            let parents = try attributes(rootfs.appendingPathComponent("layers/x_y"))
            #expect(parents.uid == 0 && parents.mode == 0o755)
            #expect(try attributes(rootfs.appendingPathComponent("layers/x_y/node")).uid == 1000)

            // The layer itself: a link entry, and nothing of the file it names.
            let listing = try await sh("tar", ["-tvzf", blob(try #require(exported.layers.first?.digest), in: layout).path])
            #expect(listing.succeeded && listing.output.contains("layers/x_y/node/etc/shadow-copy -> /etc/shadow"), "\(listing.output)")
            #expect(listing.output.contains("layers/x_y/node/escape -> ../../.."))
            let plain = try await sh("sh", ["-c", "gzip -dc '\(blob(exported.layers[0].digest, in: layout).path)' | grep -ac 'root:' || true"])
            #expect(plain.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            let tar = try await sh("sh", ["-c", "gzip -dc '\(blob(exported.layers[0].digest, in: layout).path)' | wc -c"])
            #expect((Int(tar.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max) <= 10 * 512 + 1024, "\(tar.output)")
        }
    }
}
