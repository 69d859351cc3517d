import Foundation
import KilnBuildpacks
import KilnCache
import KilnCatalog
import KilnConfine
import KilnProcess
import KilnRuntimes
import KilnSandbox

/// The restore and save phases: the app's dependencies into CACHE_DIR
/// before compile, and saved from the build after a successful compile.
/// What either changes in CACHE_DIR goes through ``CacheDirectory``.
///
/// A built-in builder's dependencies go through the content-addressed
/// cache. Its rule (`cache/BUILDER.rule`) makes the key: stack, builder
/// version, toolchain, lockfiles, the app's own key files and purge epoch.
/// A key found in this worker's local tier, or else in the farm's shared
/// tier, is restored by hard links, and the builder takes its dependencies
/// from CACHE_DIR instead of installing them. Other buildpacks get the
/// app's CACHE_DIR of the last build on this worker, moved in and out.
///
/// A cache fault (a missing or corrupt object, a store that fails) never
/// fails a build: it is logged and the build goes cold.
struct DependencyCache: Sendable {
    let local: CacheStore
    let shared: CacheStore
    let rules: [String: CacheRule]
    let buildersDirectory: URL
    /// Per-app CACHE_DIRs of buildpacks without a rule, on this worker.
    let scratchDirectory: URL
    /// Whether an app may restore a tree another app saved under the same key.
    let farmWide: Bool
    /// Toolchain versions where builds run, shared with the runtime phase.
    let probe: ToolchainProbe
    /// Adds a build's use of the cache to the farm's figures (best effort).
    let recordUse: @Sendable (CacheUse) async -> Void

    func restore(_ context: BuildContext, buildpacks: [Buildpack], stack: Stack, runtimes: RuntimeSelection = RuntimeSelection()) async throws -> [CachePlan] {
        try context.workspace.cacheDirectory.takeOver(scratch(of: context.build.app), clean: context.build.clean)
        var plans: [CachePlan] = []
        var use = CacheUse(app: context.build.app)
        for buildpack in buildpacks {
            guard let rule = rule(for: buildpack),
                  let plan = try await plan(rule, buildpack: buildpack, context, stack: stack, runtimes: runtimes.byBuilder[rule.builder] ?? []) else { continue }
            plans.append(await restore(plan, context, use: &use))
        }
        // Directories only: restored files are the store's, which the build may replace but not change.
        try await context.handOver(context.workspace.cache, files: false)
        if !plans.isEmpty { await recordUse(use) }
        return plans
    }

    func save(_ context: BuildContext, plans: [CachePlan]) async throws {
        var use = CacheUse(app: context.build.app)
        for plan in plans where !plan.restored {
            let started = ContinuousClock.now
            do {
                let saved = try await onThread { [self] in try store(plan, from: context.workspace.app, app: context.build.app) }
                guard let saved else {
                    await context.log("-----> cache: nothing to save for \(plan.builder) (\(plan.directories.joined(separator: ", ")) not built)")
                    continue
                }
                use.bytesSaved += saved.newBytes
                await context.log("-----> cache: saved \(Figures.count(saved.files)) files (\(Figures.bytes(saved.bytes)), \(Figures.bytes(saved.newBytes)) new) in \(Figures.seconds(ContinuousClock.now - started))")
            } catch {
                await context.log("-----> cache: could not save \(plan.builder) dependencies: \(error)")
                use.faults += 1
            }
        }
        if !plans.isEmpty { await recordUse(use) }
        try context.workspace.cacheDirectory.keep(in: scratch(of: context.build.app), without: plans)
    }

    // MARK: Keys

    /// The rule of a built-in builder (named by its bare name, never a URL).
    func rule(for buildpack: Buildpack) -> CacheRule? {
        guard buildpack.isBuiltIn else { return nil }
        return rules[buildpack.reference]
    }

    func plan(_ rule: CacheRule, buildpack: Buildpack, _ context: BuildContext, stack: Stack, runtimes: [Runtime]) async throws -> CachePlan? {
        // The pushed tree: lockfiles are read beneath it, a link out of it refused.
        let app = try HostileInput.beneath(context.workspace.app, label: "the app") { $0 }
        guard rule.keys.contains(where: { app.exists($0) }) else {
            await context.log("-----> cache: not used for \(rule.builder): the app has no \(rule.keys.joined(separator: " or "))")
            return nil
        }
        let settings = context.settings
        let (directories, vars) = rule.resolvedDirectories(vars: settings.config.vars)
        // The host's part stays what it was before stacks (its Heroku name), so that existing entries still match.
        let system = stack.root == nil ? stack.heroku : [stack.name, stack.made].compactMap { $0 }.joined(separator: " made ")
        var parts = [CacheKey.Part("stack", system), CacheKey.Part("builder \(rule.builder)", await probe.version(ofBuilder: buildersDirectory.appendingPathComponent(rule.builder)))]
        if runtimes.isEmpty {
            for command in rule.toolchain { parts.append(.init("toolchain \(command)", await probe.output(of: command, on: stack))) }
        } else {
            // The runtime the build uses, not whatever the stack has: an app on an added Node 24 keys on 24.
            for runtime in runtimes { parts.append(.init("runtime \(runtime.kind)", "\(runtime.version) \(runtime.directory == nil ? "(stack's own)" : "(added)")")) }
        }
        for file in rule.keys + settings.app.cacheKeyFiles {
            do {
                parts.append(.init("file \(file)", try CacheKey.fileDigest(file, in: app)))
            } catch let error as ConfinedPathError {
                throw BuildFailure("the cache key file \(error)")
            }
        }
        for (name, value) in vars.sorted(by: { $0.key < $1.key }) { parts.append(.init("var \(name)", value)) }
        parts.append(.init("directories", directories.joined(separator: ",")))
        // Salted with the app: a purged app never picks up another app's entry.
        if settings.app.cacheEpoch > 0 { parts.append(.init("epoch", "\(settings.app.name)#\(settings.app.cacheEpoch)")) }
        return CachePlan(builder: rule.builder, key: CacheKey(parts: parts), directories: directories)
    }

    // MARK: Restore

    func restore(_ plan: CachePlan, _ context: BuildContext, use: inout CacheUse) async -> CachePlan {
        let app = context.build.app
        if context.build.clean {
            await context.log("-----> cache: clean build requested: \(plan.builder) dependencies start cold")
            use.misses += 1
            return plan
        }
        let started = ContinuousClock.now
        let cache = context.workspace.cacheDirectory
        do {
            let found = try await onThread { [self] in try lookUp(plan, app: app) }
            guard let (manifest, fetched) = found else {
                await context.log("-----> cache: miss, \(missReason(plan, app: app))")
                use.misses += 1
                return plan
            }
            if let fetched, fetched.objects > 0 {
                await context.log("-----> cache: fetched \(Figures.count(fetched.objects)) objects (\(Figures.bytes(fetched.bytes))) from the shared tier")
            }
            let restored: CacheStore.Restored
            do {
                restored = try await onThread { [local] in try cache.place(manifest, replacing: plan.directories, from: local) }
            } catch let fault as CacheFault {
                // Dropped from the local tier: fetch what is missing again and retry once.
                await context.log("-----> cache: \(fault); fetching it again from the shared tier")
                restored = try await onThread { [local, shared] in
                    try local.pull(manifest, from: shared)
                    return try cache.place(manifest, replacing: plan.directories, from: local)
                }
            }
            use.hits += 1
            use.filesRestored += Int64(restored.files)
            use.bytesRestored += restored.bytes
            await context.log("-----> cache: restored \(Figures.count(restored.files)) files (\(Figures.bytes(restored.bytes))) in \(Figures.seconds(ContinuousClock.now - started))")
            var plan = plan
            plan.restored = true
            return plan
        } catch {
            try? cache.clear(plan.directories)
            use.faults += 1
            await context.log("-----> cache: \(error); building \(plan.builder) dependencies cold")
            return plan
        }
    }

    /// The manifest the key maps to, from the local tier or else fetched
    /// (with the objects the local tier lacks) from the shared one.
    func lookUp(_ plan: CachePlan, app: String) throws -> (String, CacheStore.Transferred?)? {
        if let manifest = local.entry(plan.digest, app: app, farmWide: farmWide) { return (manifest, nil) }
        guard let manifest = shared.entry(plan.digest, app: app, farmWide: farmWide) else { return nil }
        let fetched = try local.pull(manifest, from: shared)
        try local.setEntry(plan.digest, manifest: manifest, app: app)
        return (manifest, fetched)
    }

    func missReason(_ plan: CachePlan, app: String) -> String {
        guard let previous = local.lastKey(app: app, builder: plan.builder) ?? shared.lastKey(app: app, builder: plan.builder) else {
            return "no \(plan.builder) dependencies saved for this app yet"
        }
        let changes = plan.key.changes(since: previous)
        return changes.isEmpty ? "the \(plan.builder) dependencies of this key were evicted" : changes.joined(separator: ", ")
    }

    // MARK: Save

    /// Saves the plan's directories of the app to the local tier, then
    /// copies what the shared tier lacks to it; `nil` when none was built.
    func store(_ plan: CachePlan, from app: URL, app name: String) throws -> CacheStore.Saved? {
        let saved = try local.save(app, paths: plan.directories)
        guard saved.files > 0 else { return nil }
        try record(plan, manifest: saved.manifest, app: name, in: local)
        try shared.pull(saved.manifest, from: local)
        try record(plan, manifest: saved.manifest, app: name, in: shared)
        return saved
    }

    func record(_ plan: CachePlan, manifest: String, app: String, in tier: CacheStore) throws {
        try tier.setEntry(plan.digest, manifest: manifest, app: app)
        try tier.setEntry(plan.digest, manifest: manifest, app: nil)
        try tier.setLastKey(plan.key, app: app, builder: plan.builder)
    }

    // MARK: Scratch

    /// Where the app's CACHE_DIR waits between its builds on this worker.
    func scratch(of app: String) -> URL {
        scratchDirectory.appendingPathComponent(app)
    }
}
