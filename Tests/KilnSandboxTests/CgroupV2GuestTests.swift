import Foundation
import KilnTestSupport
import Testing

/// The sandbox's limits on a real cgroup v2 kernel. This machine mounts
/// cgroup v1, so a guest does: qemu boots Debian's kernel with the small
/// initramfs `Tests/Guest/make-guest.sh` makes (cached outside the clone by
/// a digest of its recipe), the host's root shared read-only over virtio-9p
/// and cgroup2 mounted, and runs this very test binary there on
/// `SandboxTests` and `SandboxLimitTests`: a memory hog, a fork bomb, a wall
/// time, a log flood, a CPU share and a cancel, each through the v2 groups.
@Suite struct CgroupV2GuestTests {
    /// Inside the guest (where KILN_TEST_CGROUP is set) this suite does not run again.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KILN_TEST_CGROUP"] == nil)) func theSandboxsLimitsHoldOnACgroupV2Kernel() async throws {
        let made = try await sh("bash", [TestEnvironment.repositoryRoot.appendingPathComponent("Tests/Guest/make-guest.sh").path])
        try #require(made.succeeded, "the guest could not be made: \(made.output)")
        let guest = made.output.split(separator: "\n").last.map(String.init) ?? ""
        let work = try TestEnvironment.temporaryDirectory("guest")
        let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        // Inside: root in the guest's root group, scratch on the guest's tmpfs (/run; the host's /tmp is read-only there).
        try """
            export KILN_TEST_SCRATCH=/run/scratch TMPDIR=/run/tmp KILN_TEST_CGROUP=v2 SWIFT_BACKTRACE=enable=yes,interactive=no,color=no
            mkdir -p /run/scratch /run/tmp && chmod 755 /run/scratch
            cat /proc/self/cgroup
            exec '\(binary)' --testing-library swift-testing --filter '(\\.SandboxTests|\\.SandboxLimitTests)/'
            """.write(to: work.appendingPathComponent("guest-command"), atomically: true, encoding: .utf8)
        // Software emulation: this machine's /dev/kvm does not run a guest. The limit is for a hung guest only.
        // no_timer_check: under emulation on a loaded host the kernel's boot-time check of the
        // IO-APIC timer can miss its ticks and panic ("IO-APIC + timer doesn't work").
        let booted = try await sh("timeout", ["900", "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max", "-m", "2048", "-smp", "2",
                                              "-nographic", "-no-reboot", "-kernel", guest + "/vmlinuz", "-initrd", guest + "/initramfs.gz",
                                              "-append", "console=ttyS0 quiet panic=-1 no_timer_check",
                                              "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
                                              "-device", "virtio-9p-pci,fsdev=root,mount_tag=hostroot",
                                              "-fsdev", "local,id=work,path=\(work.path),security_model=none",
                                              "-device", "virtio-9p-pci,fsdev=work,mount_tag=work"])
        let console = booted.output
        let output = (try? String(contentsOf: work.appendingPathComponent("guest-output"), encoding: .utf8)) ?? ""
        let status = (try? String(contentsOf: work.appendingPathComponent("guest-status"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let boot = console.split(separator: "\n").first { $0.contains("guest: up") }.map(String.init) ?? "(no boot line)"
        print("cgroup v2 guest: \(boot)")
        #expect(console.contains("cgroup2 controllers:") && console.contains("memory") && console.contains("pids"), "\(console)")
        #expect(status == "0", "the suites failed in the guest:\n\(output)\n\(console)")
        for test in ["aForkBombHitsTheProcessLimitAndTheWholeTreeIsKilled", "aBuildOverItsWallTimeIsStoppedWithItsBackgroundJobs",
                     "aBuildOverItsMemoryIsKilledAndTheLimitNamed", "aBuildThatFloodsItsLogIsStoppedAtTheLogLimit",
                     "thisHostEnforcesMemoryProcessesAndCPUOnTheHierarchyItMounts", "aBuildOverItsCPUShareIsThrottled",
                     "aCancelledBuildEndsWithItsWholeTree"] {
            #expect(output.contains("Test \(test)() passed"), "\(test) did not pass in the guest:\n\(output)")
        }
        // The builds' groups were v2 ones, beside the test's own leaf.
        #expect(output.contains("0::/"), "\(output)")
    }
}
