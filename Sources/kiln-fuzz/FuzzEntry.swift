import CKilnFuzz
import Foundation

/// The fuzz binary's entry point. Built for fuzzing (`-DKILN_FUZZ
/// -sanitize=fuzzer`, see bench/fuzz) it hands the command line to
/// libFuzzer's driver with the target `KILN_FUZZ_TARGET` names; otherwise it
/// only says how to get that build, since a plain build has no libFuzzer.
///
/// With `KILN_FUZZ_SEEDS=DIRECTORY` the fuzz build writes the target's seeds
/// there and exits instead of fuzzing.
@main
struct KilnFuzz {
    static func main() {
        #if KILN_FUZZ
        let target = FuzzTarget.selected
        if let directory = ProcessInfo.processInfo.environment["KILN_FUZZ_SEEDS"] {
            do {
                try FuzzSeeds.write(for: target, into: URL(fileURLWithPath: directory))
                exit(0)
            } catch {
                FileHandle.standardError.write(Data("cannot write the seeds of \(target.rawValue) into \(directory): \(error)\n".utf8))
                exit(1)
            }
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzTestOneInput(bytes, count) })
        #else
        let targets = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        print("""
        kiln-fuzz holds libFuzzer targets (\(targets)) and fuzzes only when built for it:
          bench/fuzz [SECONDS]   builds it and runs every target
        or by hand:
          swift build -c release --scratch-path .build-fuzz --product kiln-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DKILN_FUZZ
          KILN_FUZZ_TARGET=extract $(swift build -c release --scratch-path .build-fuzz --show-bin-path)/kiln-fuzz CORPUS_DIRECTORY
        """)
        exit(1)
        #endif
    }
}

/// Runs one input through the selected target: libFuzzer's callback, under
/// the name its own `main` would look for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    FuzzTarget.selected.run(data)
    return 0
}
