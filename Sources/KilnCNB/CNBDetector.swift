import Foundation

/// What one buildpack's bin/detect did: passed (0), failed (100); any other
/// status is an error that ends detection. Its plan and what it printed.
public struct CNBDetectRun: Sendable, Equatable {
    public var status: Int32
    public var plan: CNBBuildPlan
    public var output: [String]

    public init(status: Int32, plan: CNBBuildPlan = CNBBuildPlan(), output: [String] = []) {
        self.status = status
        self.plan = plan
        self.output = output
    }
}

/// The outcome of detection: the group that builds the app, in order, and
/// the build plan each of its buildpacks gets (what `group.toml` and
/// `plan.toml` hold).
public struct CNBDetected: Sendable, Equatable {
    public var group: [CNBBuildpackDescriptor]
    /// By buildpack reference (`id@version`), the requirements it provides for and requires,
    /// as bin/build reads them from its plan.
    public var plan: [PlanEntry]

    /// One dependency of the group: who provides it and who requires it.
    public struct PlanEntry: Sendable, Equatable {
        public var name: String
        public var providers: [String]
        public var requires: [CNBBuildPlan.Requirement]

        public init(name: String, providers: [String], requires: [CNBBuildPlan.Requirement]) {
            self.name = name
            self.providers = providers
            self.requires = requires
        }
    }
}

/// The detect phase of the CNB lifecycle (buildpack.md, "Phase #1:
/// Detection"; "Order Resolution"): each group of the order in turn, its
/// composite buildpacks expanded into their own groups; every buildpack's
/// bin/detect run once; a group passes when no required member fails and
/// some choice of its members' plan alternatives (optional members may be
/// left out) has every requirement provided by the same or an earlier
/// buildpack and every provision required by the same or a later one. The
/// first group that passes builds the app; none passing is an error that
/// says what each group's buildpacks did.
public struct CNBDetector: Sendable {
    /// Finds a group entry's buildpack (the app's, the farm's directory, a URL).
    public var resolve: @Sendable (CNBGroupEntry) async throws -> CNBBuildpackDescriptor
    /// Runs a component buildpack's bin/detect (in the sandbox).
    public var detect: @Sendable (CNBBuildpackDescriptor) async throws -> CNBDetectRun
    /// Bounds on what an order (the app's own, in project.toml) may make Kiln try.
    public var maxGroups = 256
    public var maxPlanTrials = 10_000

    public init(resolve: @escaping @Sendable (CNBGroupEntry) async throws -> CNBBuildpackDescriptor,
                detect: @escaping @Sendable (CNBBuildpackDescriptor) async throws -> CNBDetectRun) {
        self.resolve = resolve
        self.detect = detect
    }

    typealias Member = (buildpack: CNBBuildpackDescriptor, optional: Bool)

    public func run(_ order: CNBOrder) async throws -> CNBDetected {
        var runs: [String: CNBDetectRun] = [:]
        var said: [String] = []
        var tried = 0
        for (index, entries) in order.groups.enumerated() {
            for group in try await expand(entries, composing: []) {
                tried += 1
                guard tried <= maxGroups else { throw CNBError("the order expands to more than \(maxGroups) groups: simplify its composite buildpacks") }
                var passing: [(Member, CNBDetectRun)] = []
                var failed: [String] = []
                for member in group {
                    let key = member.buildpack.reference
                    let run: CNBDetectRun
                    if let known = runs[key] { run = known } else {
                        run = try await detect(member.buildpack)
                        runs[key] = run
                    }
                    switch run.status {
                    case 0: passing.append((member, run))
                    case 100:
                        // What it said, its last three lines, so the failure tells the pusher why.
                        let why = run.output.suffix(3).joined(separator: " / ")
                        if !member.optional { failed.append(key + (why.isEmpty ? "" : " (it says: \(why))")) }
                    default:
                        let last = run.output.suffix(8).joined(separator: "\n")
                        throw CNBError("\(key): bin/detect exited \(run.status) (0 passes, 100 fails, anything else is an error)" + (last.isEmpty ? "" : "; it says:\n\(last)"))
                    }
                }
                let names = group.map { $0.buildpack.reference + ($0.optional ? "?" : "") }.joined(separator: ", ")
                guard failed.isEmpty else {
                    said.append("group \(index + 1) (\(names)): \(failed.joined(separator: ", ")) did not pass")
                    continue
                }
                guard !passing.isEmpty else {
                    said.append("group \(index + 1) (\(names)): no buildpack passed")
                    continue
                }
                if let detected = try resolvePlan(passing) { return detected }
                said.append("group \(index + 1) (\(names)): no choice of their build plans has every requirement provided (by the same or an earlier buildpack) and every provision required (by the same or a later one)")
            }
        }
        throw CNBError("no group of the order passed detection:\n" + said.joined(separator: "\n"))
    }

    /// The groups `entries` stand for, each composite replaced by every group of its order in turn.
    func expand(_ entries: [CNBGroupEntry], composing: [String]) async throws -> [[Member]] {
        var groups: [[Member]] = [[]]
        for entry in entries {
            let buildpack = try await resolve(entry)
            var choices: [[Member]]
            if let inner = buildpack.order {
                guard !composing.contains(buildpack.id), composing.count < 8 else {
                    throw CNBError("composite buildpack \(buildpack.reference) includes itself, or nests more than 8 deep")
                }
                choices = []
                for group in inner.groups {
                    // An optional composite makes each of its members optional.
                    let members = try await expand(group.map { CNBGroupEntry(id: $0.id, version: $0.version, optional: $0.optional || entry.optional) },
                                                   composing: composing + [buildpack.id])
                    choices += members
                }
            } else {
                choices = [[(buildpack, entry.optional)]]
            }
            groups = groups.flatMap { prefix in choices.map { prefix + $0 } }
            guard groups.count <= maxGroups else { throw CNBError("the order expands to more than \(maxGroups) groups: simplify its composite buildpacks") }
        }
        return groups
    }

    /// The first choice of plan alternatives (the first alternative first;
    /// an optional member left out last) that holds, or `nil`.
    func resolvePlan(_ members: [(Member, CNBDetectRun)]) throws -> CNBDetected? {
        // A choice per member: an alternative's index, or nil (left out; optional members only).
        let options: [[Int?]] = members.map { member, run in
            let alternatives = run.plan.alternatives.isEmpty ? [CNBBuildPlan.Alternative()] : run.plan.alternatives
            return Array(alternatives.indices).map { Optional($0) } + (member.optional ? [nil] : [])
        }
        var choice = Array(repeating: 0, count: members.count)
        var trials = 0
        while true {
            trials += 1
            guard trials <= maxPlanTrials else { throw CNBError("the group's build plans have more than \(maxPlanTrials) combinations to try: fewer [[or]] alternatives") }
            let picked: [(CNBBuildpackDescriptor, CNBBuildPlan.Alternative)] = members.indices.compactMap { index in
                guard let alternative = options[index][choice[index]] else { return nil }
                let plan = members[index].1.plan
                return (members[index].0.buildpack, plan.alternatives.isEmpty ? CNBBuildPlan.Alternative() : plan.alternatives[alternative])
            }
            if !picked.isEmpty, let plan = Self.satisfied(picked) {
                return CNBDetected(group: picked.map(\.0), plan: plan)
            }
            // The next choice: the last member's options vary fastest.
            var position = members.count - 1
            while position >= 0 {
                choice[position] += 1
                if choice[position] < options[position].count { break }
                choice[position] = 0
                position -= 1
            }
            if position < 0 { return nil }
        }
    }

    /// The plan entries when every requirement is provided by the same or an
    /// earlier buildpack and every provision required by the same or a later one.
    static func satisfied(_ picked: [(CNBBuildpackDescriptor, CNBBuildPlan.Alternative)]) -> [CNBDetected.PlanEntry]? {
        for (index, (_, alternative)) in picked.enumerated() {
            for requirement in alternative.requires where !picked[...index].contains(where: { $0.1.provides.contains(requirement.name) }) { return nil }
            for provided in alternative.provides where !picked[index...].contains(where: { $0.1.requires.contains { $0.name == provided } }) { return nil }
        }
        var entries: [CNBDetected.PlanEntry] = []
        for (buildpack, alternative) in picked {
            for provided in alternative.provides {
                if let at = entries.firstIndex(where: { $0.name == provided }) {
                    if !entries[at].providers.contains(buildpack.reference) { entries[at].providers.append(buildpack.reference) }
                } else {
                    entries.append(.init(name: provided, providers: [buildpack.reference], requires: []))
                }
            }
            for requirement in alternative.requires {
                if let at = entries.firstIndex(where: { $0.name == requirement.name }) { entries[at].requires.append(requirement) }
            }
        }
        return entries
    }
}
