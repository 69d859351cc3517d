import Foundation
import KilnAPI
import KilnBuildLog
import KilnCache
import KilnCatalog
import KilnQueue
import KilnSigning

// The API's wire types are the generated ones (docs/openapi.yaml); these are
// the only places where the catalog's and the queue's records become them.

extension Components.Schemas.App {
    init(_ app: App) {
        self.init(name: app.name, deployBranch: app.deployBranch, createdAt: app.createdAt, buildNetwork: app.buildNetwork, sourceDir: app.sourceDir,
                  cacheKeyFiles: app.cacheKeyFiles, cacheEpoch: app.cacheEpoch, releaseWebhook: app.releaseWebhook,
                  dockerBuildArgs: app.dockerBuildArgs, exportImage: app.exportImage, stack: app.stack)
    }
}

extension Components.Schemas.Release {
    init(_ release: Release) {
        self.init(app: release.app, version: release.version, build: release.build, slugDigest: release.slugDigest, image: release.image,
                  ports: release.ports, configVersion: release.configVersion, createdAt: release.createdAt, description: release.description,
                  handoff: release.handoff, upgrade: release.upgrade.map { .init(from: $0.from, to: $0.to) },
                  status: release.status.map(Components.Schemas.ReleaseStatus.init), statusReason: release.statusReason, statusAt: release.statusAt,
                  rollbackOf: release.rollbackOf)
    }
}

extension Components.Schemas.ReleaseStatus {
    init(_ status: Release.Status) {
        switch status {
        case .deploying: self = .deploying
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        }
    }
}

extension Release.Status {
    init(_ status: Components.Schemas.ReleaseStatus) {
        switch status {
        case .deploying: self = .deploying
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        }
    }
}

extension Components.Schemas.ConfigVersion {
    init(_ config: ConfigVersion) {
        self.init(app: config.app, version: config.version, vars: .init(additionalProperties: config.vars))
    }
}

extension Components.Schemas.Key {
    init(_ key: APIKeyRecord) {
        self.init(id: key.id, kind: .api, app: key.app, createdAt: key.createdAt, revokedAt: key.revokedAt)
    }

    init(_ key: SSHKeyRecord) {
        self.init(id: key.id, kind: .ssh, app: key.app, createdAt: key.createdAt, fingerprint: key.fingerprint, keyType: key.type,
                  comment: key.comment, builtInServer: SSHPublicKey.builtInServerTypes.contains(key.type))
    }
}

extension Components.Schemas.AppDeletion {
    init(_ deletion: AppDeletion, repositoryRemoved: Bool) {
        self.init(app: deletion.app, purged: deletion.purged, cancelledBuilds: deletion.cancelledBuilds, releasesKept: deletion.releasesKept,
                  keysRemoved: deletion.keysRemoved, repositoryRemoved: repositoryRemoved)
    }
}

extension Components.Schemas.Build {
    init(_ build: Build) {
        self.init(id: build.id, seq: build.seq, app: build.app, state: .init(build.state), commit: build.commit, branch: build.branch,
                  sourceDigest: build.sourceDigest, clean: build.clean, hot: build.hot, attempts: build.attempts, worker: build.worker,
                  slugDigest: build.slugDigest, manifestDigest: build.manifestDigest, signatureDigest: build.signatureDigest, slugSize: build.slugSize,
                  image: build.image, imagePorts: build.imagePorts, error: build.error, createdAt: build.createdAt, startedAt: build.startedAt,
                  finishedAt: build.finishedAt, timings: build.timings.map { .init(additionalProperties: $0) })
    }
}

extension Components.Schemas.BuildState {
    init(_ state: BuildState) {
        switch state {
        case .queued: self = .queued
        case .running: self = .running
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .superseded: self = .superseded
        }
    }
}

extension Components.Schemas.LogLine {
    init(_ line: LogLine) {
        self.init(number: line.number, text: line.text, at: line.at)
    }
}

extension Components.Schemas.CacheUse {
    init(_ use: CacheUse) {
        self.init(app: use.app, hits: use.hits, misses: use.misses, faults: use.faults, filesRestored: use.filesRestored,
                  bytesRestored: use.bytesRestored, bytesSaved: use.bytesSaved)
    }
}

extension Components.Schemas.CacheTier {
    init(_ usage: CacheStore.Usage) {
        // Two decimals, as the cache has always reported it.
        self.init(entries: usage.entries, objects: usage.objects, storedBytes: usage.storedBytes, treeBytes: usage.treeBytes,
                  dedupRatio: (usage.dedupRatio * 100).rounded() / 100)
    }
}

extension Components.Schemas.QueueStats {
    init(_ stats: QueueStats) {
        self.init(counts: .init(additionalProperties: stats.counts), oldestQueuedSeconds: stats.oldestQueuedSeconds,
                  runningPerWorker: .init(additionalProperties: stats.runningPerWorker), demand: stats.demand)
    }
}

extension Components.Schemas.Worker {
    init(_ worker: WorkerRecord) {
        self.init(name: worker.name, host: worker.host, pid: worker.pid, capacity: worker.capacity, limits: worker.limits, unlimited: worker.unlimited,
                  startedAt: worker.startedAt, heartbeatAt: worker.heartbeatAt, lost: worker.lost, running: worker.running)
    }
}

extension Components.Schemas.FarmKey {
    init(_ status: FarmKeyStatus) {
        let state: Components.Schemas.FarmKeyState = switch status.state {
        case .current: .current
        case .retired: .retired
        case .revoked: .revoked
        }
        self.init(id: status.id, state: state, publicKey: status.publicKey?.pem, since: status.since,
                  revokedAt: status.state == .revoked ? status.since : nil, reason: status.reason)
    }
}
