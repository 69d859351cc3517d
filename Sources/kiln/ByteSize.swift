import Foundation
import ArgumentParser

/// A size on the command line: `20GB`, `512MB`, `1.5TB` or plain bytes
/// (decimal units, as disks are sold; `GiB` and friends are binary).
struct ByteSize: ExpressibleByArgument, Sendable {
    var bytes: Int64

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Double)] = [("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10),
                                         ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3), ("B", 1)]
        let (number, scale) = units.first { text.hasSuffix($0.0) }.map { (String(text.dropLast($0.0.count)), $0.1) } ?? (text, 1)
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value >= 0 else { return nil }
        bytes = Int64(value * scale)
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// How `--help` shows a default: whole GiB or MiB when it is one, else bytes.
    var defaultValueDescription: String {
        bytes > 0 && bytes % (1 << 30) == 0 ? "\(bytes >> 30)GiB" : bytes > 0 && bytes % (1 << 20) == 0 ? "\(bytes >> 20)MiB" : "\(bytes)"
    }
}
