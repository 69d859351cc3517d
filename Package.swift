// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "kiln",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The API's contract: docs/openapi.yaml, generated into KilnAPI by scripts/generate-api.sh.
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The YAML buildpacks' bin/release prints.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Cloud Native Buildpacks' TOML (buildpack.toml, order.toml, plans).
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        // git over SSH: Kiln's own SSH server.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssh.git", from: "0.15.1"),
    ],
    targets: [
        // C libraries, each behind one thin system-library target.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev", "libzstd-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // libcurl's setopt is variadic, which Swift cannot call: a small C shim drives it.
        .target(name: "CKilnCurl", dependencies: ["CCurl"]),
        // sync_file_range, which glibc declares only under _GNU_SOURCE.
        .target(name: "CKilnFile"),

        // Wrappers around the C libraries: nothing else sees an OpaquePointer.
        .target(name: "KilnArchive", dependencies: ["CArchive", "CZstd"], swiftSettings: swiftSettings),
        .target(name: "KilnGit", dependencies: ["CGit2", "KilnArchive"], swiftSettings: swiftSettings),
        // Every HTTP transfer of a worker or a server (downloads, webhooks, S3), through one libcurl request type.
        .target(name: "KilnCurl", dependencies: ["CKilnCurl"], swiftSettings: swiftSettings),
        .target(name: "KilnDownload", dependencies: ["KilnCurl", "KilnProcess"], swiftSettings: swiftSettings),
        // Paths a build or a push controls, reached only beneath a directory descriptor.
        .target(name: "KilnConfine", dependencies: ["CKilnFile"], swiftSettings: swiftSettings),

        // Every path under the farm's home, named once.
        .target(name: "KilnHome", swiftSettings: swiftSettings),

        // Running other programs (git, buildpacks, PostgreSQL's tools) with streamed output.
        .target(name: "KilnProcess", dependencies: [
            .product(name: "Subprocess", package: "swift-subprocess"),
        ], swiftSettings: swiftSettings),

        // Storage, keys and the database.
        .target(name: "KilnBlobStore", dependencies: [
            "CKilnFile", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnS3", dependencies: [
            "KilnCurl", "KilnBlobStore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnSigning", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnDatabase", dependencies: [
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            "KilnProcess",
        ], swiftSettings: swiftSettings),
        // Apps, keys, config, releases and their hand-off outbox; a release names a build of the queue.
        .target(name: "KilnCatalog", dependencies: [
            "KilnDatabase", "KilnQueue", "KilnSigning",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnQueue", dependencies: ["KilnDatabase"], swiftSettings: swiftSettings),
        .target(name: "KilnBuildLog", dependencies: ["KilnDatabase"], swiftSettings: swiftSettings),

        // The build itself.
        .target(name: "KilnSandbox", dependencies: ["KilnProcess"], swiftSettings: swiftSettings),
        .target(name: "KilnCache", dependencies: ["KilnConfine", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        .target(name: "KilnBuildpacks", dependencies: [
            "KilnProcess", "KilnSandbox", "KilnArchive", "KilnDownload", "KilnConfine",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: swiftSettings),
        // Cloud Native Buildpacks: descriptors, orders, build plans and the lifecycle's detection.
        .target(name: "KilnCNB", dependencies: [
            "KilnConfine", "KilnSandbox", .product(name: "TOMLKit", package: "TOMLKit"), .product(name: "Yams", package: "Yams"),
        ], swiftSettings: swiftSettings),
        // Runtime versions: what an app asks for (.python-version, engines.node, ...) and the toolchains a farm has.
        .target(name: "KilnRuntimes", dependencies: ["KilnArchive", "KilnProcess"], swiftSettings: swiftSettings),
        // OCI images: Dockerfile builds with buildah, slugs exported as images, their signatures.
        .target(name: "KilnImage", dependencies: [
            "KilnArchive", "KilnBlobStore", "KilnSlug", "KilnProcess", "KilnSandbox", "KilnSigning", "KilnConfine", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnSlug", dependencies: [
            "KilnArchive", "KilnBlobStore", "KilnSigning", "KilnConfine",
        ], swiftSettings: swiftSettings),
        .target(name: "KilnWorker", dependencies: [
            "KilnHome", "KilnDatabase", "KilnQueue", "KilnBuildLog", "KilnCatalog", "KilnBlobStore", "KilnArchive",
            "KilnBuildpacks", "KilnSlug", "KilnSigning", "KilnSandbox", "KilnCache", "KilnProcess", "KilnS3", "KilnImage", "KilnConfine", "KilnDownload", "KilnRuntimes", "KilnCNB",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: swiftSettings),

        // The edge: git over HTTP, the REST API, the command line.
        // The API's wire types, server protocol and client, generated from docs/openapi.yaml (committed).
        .target(name: "KilnAPI", dependencies: [
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(name: "KilnReceiver", dependencies: [
            "KilnHome", "KilnGit", "KilnArchive", "KilnBlobStore", "KilnS3", "KilnDatabase", "KilnQueue", "KilnBuildLog", "KilnCatalog", "KilnProcess", "KilnDownload", "KilnConfine",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Subprocess", package: "swift-subprocess"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnWebhook", dependencies: ["KilnCurl", "KilnSigning", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        // git over SSH (swift-nio-ssh): public keys only, git-receive-pack and git-upload-pack of one app.
        .target(name: "KilnSSH", dependencies: [
            "KilnHome", "KilnReceiver", "KilnCatalog", "KilnSigning",
            .product(name: "NIOSSH", package: "swift-nio-ssh"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Subprocess", package: "swift-subprocess"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnServer", dependencies: [
            "KilnSSH", "KilnHome", "KilnProcess", "KilnWebhook", "KilnReceiver", "KilnQueue", "KilnBuildLog", "KilnCatalog", "KilnBlobStore", "KilnS3", "KilnSigning", "KilnSlug", "KilnCache", "KilnDownload", "KilnImage",
            "KilnAPI",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: swiftSettings),
        // The reference release service (`kiln release-agent`): takes hand-offs, runs each app's web process behind a stable port.
        .target(name: "KilnAgent", dependencies: [
            "KilnSandbox", "KilnSlug", "KilnSigning", "KilnWebhook", "KilnCurl", "KilnProcess", "KilnArchive", "KilnBlobStore", "KilnHome", "KilnConfine",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .target(name: "KilnClient", dependencies: [
            "KilnAPI",
            .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: swiftSettings),
        .executableTarget(name: "kiln", dependencies: [
            "KilnHome", "KilnServer", "KilnSSH", "KilnWorker", "KilnClient", "KilnAPI", "KilnRuntimes", "KilnCNB", "KilnDatabase", "KilnReceiver", "KilnSigning", "KilnSlug", "KilnBlobStore", "KilnCatalog", "KilnQueue", "KilnProcess", "KilnSandbox", "KilnCache", "KilnArchive", "KilnS3", "KilnImage", "KilnDownload", "KilnAgent",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: swiftSettings),
        // Measurements for bench/: prints figures, never run by the tests.
        .executableTarget(name: "kiln-bench", dependencies: [
            "KilnHome", "KilnDatabase", "KilnQueue", "KilnCatalog", "KilnArchive", "KilnBlobStore", "KilnProcess", "KilnCache",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),

        // libFuzzer targets for bench/fuzz; only a build with -DKILN_FUZZ -sanitize=fuzzer fuzzes.
        .target(name: "CKilnFuzz"),
        .executableTarget(name: "kiln-fuzz", dependencies: ["CKilnFuzz", "KilnArchive", "KilnBuildpacks", "KilnSlug", "KilnSigning"], swiftSettings: swiftSettings),

        .target(name: "KilnTestSupport", dependencies: [
            "KilnDatabase", "KilnProcess", "KilnArchive", "KilnBlobStore", "KilnCatalog", "KilnQueue", "KilnSandbox",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Tests/KilnTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "KilnArchiveTests", dependencies: ["KilnArchive", "KilnGit", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnAPITests", dependencies: ["KilnAPI", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        .testTarget(name: "KilnSigningTests", dependencies: ["KilnSigning"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnSlugTests", dependencies: ["KilnSlug", "KilnSigning", "KilnBlobStore", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnS3Tests", dependencies: ["KilnS3", "KilnBlobStore", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnConfineTests", dependencies: ["KilnConfine", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnDownloadTests", dependencies: ["KilnDownload"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnWebhookTests", dependencies: ["KilnWebhook"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnCacheTests", dependencies: ["KilnCache", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnReceiverTests", dependencies: ["KilnReceiver"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnSSHTests", dependencies: ["KilnSSH"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnSandboxTests", dependencies: ["KilnSandbox", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnCNBTests", dependencies: [
            "KilnCNB", "KilnConfine", "KilnSandbox", "KilnTestSupport", .product(name: "TOMLKit", package: "TOMLKit"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "KilnImageTests", dependencies: ["KilnImage", "KilnConfine", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnRuntimesTests", dependencies: ["KilnRuntimes", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnBuildpacksTests", dependencies: ["KilnBuildpacks", "KilnSandbox", "KilnDownload", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnQueueTests", dependencies: ["KilnQueue", "KilnCatalog", "KilnDatabase", "KilnBuildLog", "KilnTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnFarmTests", dependencies: ["KilnTestSupport", "KilnQueue", "KilnCatalog", "KilnDatabase"], swiftSettings: swiftSettings),
        .testTarget(name: "KilnWorkerTests", dependencies: [
            "KilnWorker", "KilnTestSupport", "KilnQueue", "KilnCatalog", "KilnBlobStore", "KilnBuildpacks", "KilnSandbox", "KilnSigning", "KilnSlug", "KilnDownload", "KilnCNB", "KilnCache", "KilnImage",
        ], swiftSettings: swiftSettings),
        .testTarget(name: "KilnAgentTests", dependencies: [
            "KilnAgent", "KilnSigning", "KilnSlug", "KilnWebhook", "KilnProcess", "KilnTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "KilnEndToEndTests", dependencies: ["KilnTestSupport", "KilnProcess", "KilnDatabase", "KilnCatalog", "KilnQueue", "KilnWebhook", "KilnSigning", .product(name: "PostgresNIO", package: "postgres-nio")], swiftSettings: swiftSettings),
    ]
)
