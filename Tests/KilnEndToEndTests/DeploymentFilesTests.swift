import Foundation
import KilnQueue
import KilnTestSupport
import Testing

/// The files operators deploy with, in `workers/`: systemd units that
/// systemd accepts, Kubernetes manifests valid for Kubernetes 1.30 and clean
/// under checkov (each exception annotated with its reason), and a KEDA
/// ScaledObject that scales on the queue's own demand query. No cluster runs
/// here: the validators are offline (kubernetes-validate, checkov), from PyPI.
@Suite struct DeploymentFilesTests {
    static let workers = TestEnvironment.repositoryRoot.appendingPathComponent("workers")
    static let tools = "/opt/kiln-tools/bin"

    @Test func systemdUnitsVerify() async throws {
        let scratch = try TestEnvironment.temporaryDirectory("units")
        let environment = scratch.appendingPathComponent("kiln.env")
        try "KILN_DATABASE_URL=postgres://kiln@db/kiln\n".write(to: environment, atomically: true, encoding: .utf8)
        for name in ["kiln-server.service", "kiln-worker.service"] {
            // The units name an installed kiln and /etc/kiln: point them at this build.
            let text = try String(contentsOf: Self.workers.appendingPathComponent("systemd/\(name)"), encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/kiln", with: TestEnvironment.binary)
                .replacingOccurrences(of: "/etc/kiln/kiln.env", with: environment.path)
            let unit = scratch.appendingPathComponent(name)
            try text.write(to: unit, atomically: true, encoding: .utf8)
            let verified = try await sh("systemd-analyze", ["verify", unit.path])
            #expect(verified.succeeded && verified.output.isEmpty, "\(name): \(verified.output)")
        }
    }

    @Test func kubernetesManifestsAreValidAndPassCheckov() async throws {
        let directory = Self.workers.appendingPathComponent("kubernetes")
        let core = ["namespace.yaml", "secrets.yaml", "server.yaml", "worker.yaml", "pdb.yaml", "networkpolicy.yaml"].map { directory.appendingPathComponent($0).path }
        let validated = try await sh("\(Self.tools)/kubernetes-validate", ["-k", "1.30.0", "--strict", "--quiet"] + core)
        #expect(validated.succeeded, "\(validated.output)")

        let scanned = try await sh("\(Self.tools)/checkov", ["-d", directory.path, "--framework", "kubernetes", "--quiet", "--compact", "--skip-download"])
        #expect(scanned.succeeded && scanned.output.contains("Failed checks: 0"), "\(scanned.output.suffix(3000))")
        // Every exception is one the worker's pod spells out, with a reason.
        let worker = try String(contentsOfFile: directory.appendingPathComponent("worker.yaml").path, encoding: .utf8)
        #expect(worker.contains("CAP_SYS_ADMIN") && worker.contains("apparmor.security.beta.kubernetes.io/worker: unconfined"))
    }

    @Test func theScaledObjectScalesWorkersOnTheQueuesDemand() async throws {
        let keda = Self.workers.appendingPathComponent("kubernetes/keda.yaml")
        // KEDA's resources are custom: their fields are checked against the parts of KEDA's schema they use.
        let checked = try await sh("\(Self.tools)/python", ["-c", """
            import sys, yaml
            docs = {d['kind']: d for d in yaml.safe_load_all(open(sys.argv[1]))}
            def only(obj, allowed, where):
                extra = set(obj) - set(allowed)
                assert not extra, f'{where}: unknown fields {extra}'
            so, ta = docs['ScaledObject'], docs['TriggerAuthentication']
            assert so['apiVersion'] == ta['apiVersion'] == 'keda.sh/v1alpha1'
            only(so['spec'], ['scaleTargetRef', 'minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod', 'triggers', 'advanced', 'fallback', 'idleReplicaCount'], 'ScaledObject.spec')
            assert so['spec']['scaleTargetRef']['name'] == 'kiln-worker'
            for key in ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod']:
                assert isinstance(so['spec'][key], int), key
            (trigger,) = so['spec']['triggers']
            only(trigger, ['type', 'metadata', 'authenticationRef', 'name', 'useCachedMetrics', 'metricType'], 'trigger')
            assert trigger['type'] == 'postgresql'
            only(trigger['metadata'], ['query', 'targetQueryValue', 'activationTargetQueryValue', 'connectionFromEnv', 'host', 'port', 'userName', 'dbName', 'sslmode'], 'trigger.metadata')
            assert all(isinstance(v, str) for v in trigger['metadata'].values()), 'metadata values are strings'
            assert trigger['authenticationRef']['name'] == ta['metadata']['name']
            assert ta['spec']['secretTargetRef'][0]['parameter'] == 'connection'
            print(trigger['metadata']['query'])
            """, keda.path])
        #expect(checked.succeeded, "\(checked.output)")
        #expect(checked.output.trimmingCharacters(in: .whitespacesAndNewlines) == BuildQueue.demandQuery, "\(checked.output)")
    }
}
