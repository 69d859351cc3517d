import Foundation
import KilnArchive
import KilnDownload
import KilnHome
import KilnImage
import KilnS3
import KilnSandbox

/// How a worker runs: where its files are, how many builds at once, and the
/// timings of its leases.
public struct WorkerConfiguration: Sendable {
    /// Kiln's home: `blobs/`, `keys/`, `work/` (build workspaces) and `cache/`.
    public var home: URL
    /// The built-in builders.
    public var buildersDirectory: URL
    /// Builds run at once by this process.
    public var capacity: Int
    /// This worker's name in the database (host and pid by default).
    public var name: String
    /// How long a claim stays valid without a heartbeat.
    public var lease: Duration = .seconds(60)
    /// How often the lease is renewed.
    public var heartbeat: Duration = .seconds(10)
    /// How often a running build looks for a cancellation.
    public var cancelCheck: Duration = .seconds(1)
    /// How long to wait for a NOTIFY before looking at the queue anyway.
    public var pollInterval: Duration = .seconds(5)
    /// Whether to LISTEN for new work. Off, the worker only polls: for
    /// connection poolers in transaction mode, where LISTEN does not work.
    public var listensForWork = true
    /// How long a draining worker lets its running builds finish before handing them back.
    public var drainTimeout: Duration = .seconds(600)
    /// The longest a build may run, all phases together (each buildpack
    /// script is also held to `buildLimits.wallTime`).
    public var buildTimeout: Duration = .seconds(30 * 60)
    /// The unprivileged user buildpacks run as, when the worker runs as root.
    public var buildUser: SandboxUser?
    /// What each buildpack script may use.
    public var buildLimits = SandboxLimits()
    /// Run builds even where ``buildLimits`` cannot be enforced (`--unlimited-builds`); otherwise such a worker refuses to start.
    public var unlimitedBuilds = false
    /// The dependency cache's rules (`*.rule`); by default `cache/` beside the builders.
    public var cacheRulesDirectory: URL
    /// The farm's shared tier of the dependency cache, which every worker
    /// reads and writes: by default in the blob store.
    public var sharedCacheDirectory: URL
    /// Bytes this worker's local tier may keep; `nil`: no limit.
    public var cacheBudget: Int64?
    /// Bytes the shared tier may keep; `nil`: no limit (another worker may collect it).
    public var sharedCacheBudget: Int64?
    /// Whether an app may restore dependencies another app saved under the
    /// same key. Off by default: one tenant's build could otherwise hand
    /// another altered dependencies (their bytes are stored once either way).
    public var cacheSharedBetweenApps = false
    /// How slugs are compressed: zstd, or gzip for consumers of Heroku's `.tgz` slugs.
    public var slugCompression: ArchiveCompression = .zstd
    /// A slug bigger than this fails its build, with its biggest directories named (Heroku's hard limit).
    public var slugSizeLimit: Int64 = 500_000_000
    /// A slug bigger than this gets a warning in the build's log, with its biggest directories named (Heroku's soft limit).
    public var slugSizeWarning: Int64 = 300_000_000
    /// How often the cache tiers are collected under their budgets.
    public var cacheCollectInterval: Duration = .seconds(600)
    /// The farm's object store; `nil`: the blob directory under the home is the farm's store.
    public var s3: S3Settings?
    /// The farm's OCI registry, where Dockerfile builds and exported slugs go; `nil`: no image builds.
    public var registry: RegistrySettings?
    /// The stack image slugs are exported onto (`REGISTRY/stacks/heroku-22` when unset).
    public var exportBaseImage: String?
    /// What builds may fetch (buildpacks), from where, within which limits.
    public var fetchPolicy = FetchPolicy()
    /// The runtimes the built-in builders may use besides the stack's own
    /// toolchains (`--runtimes`, `NAME/VERSION/` folders).
    public var runtimesDirectory: URL
    /// The stacks buildpack builds may run on besides the host's own system (`HOME/stacks` unless `--stacks`).
    public var stacks: StackDirectory
    /// The farm's CNB buildpacks, a builder's `/cnb/buildpacks` layout (`HOME/cnb/buildpacks` unless `--cnb-buildpacks`).
    public var cnbBuildpacksDirectory: URL
    /// The order apps with no CNB file of their own are detected against first (`--cnb-order`); `nil`: none.
    public var cnbOrder: URL?
    /// Builders `paastech/buildpacks.yaml` may name: an order.toml each, over the farm's buildpacks.
    public var cnbBuilders: [String: URL] = [:]
    /// The run image of CNB app images (`--cnb-run-image`); else the stack's run image, else the export base image.
    public var cnbRunImage: String?
    /// The launcher CNB app images start with (`scripts/build-launcher.sh` makes it; `--cnb-launcher`).
    public var cnbLauncher: URL
    /// A Dockerfile build whose context (the app's files) is bigger than this fails before buildah starts.
    public var imageContextLimit: Int64 = 500_000_000

    public init(home: URL, buildersDirectory: URL, capacity: Int, name: String? = nil) {
        self.home = home
        self.buildersDirectory = buildersDirectory
        self.capacity = max(1, capacity)
        self.name = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        self.cacheRulesDirectory = buildersDirectory.deletingLastPathComponent().appendingPathComponent("cache")
        self.sharedCacheDirectory = KilnHome(home).sharedCache
        self.runtimesDirectory = KilnHome(home).runtimes
        self.stacks = StackDirectory(KilnHome(home).stacks)
        self.cnbBuildpacksDirectory = KilnHome(home).cnbBuildpacks
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0] // farm-owned: this very executable, beside which the launcher is built
        self.cnbLauncher = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("kiln-launcher")
    }

    var layout: KilnHome { KilnHome(home) }
    var workDirectory: URL { layout.work }
    /// Per-app CACHE_DIRs of buildpacks without a cache rule.
    var cacheDirectory: URL { layout.appCaches }
    /// This worker's local tier of the dependency cache.
    public var localCacheDirectory: URL { layout.localCache }
    /// Fetched git buildpacks, by URL and ref.
    var buildpackCacheDirectory: URL { layout.buildpackCache }
    public var blobDirectory: URL { layout.blobs }
    /// This worker's buildah storage, one per app: the layers its Dockerfile builds reuse.
    var imageStoreDirectory: URL { layout.imageStore }
    /// The stack image exported slugs run on.
    var stackImage: String? {
        exportBaseImage ?? registry?.defaultStackImage
    }
    public var keyFile: URL { layout.farmKey }
    public var configKeyFile: URL { layout.configKey }
}
