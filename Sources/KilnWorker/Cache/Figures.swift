import Foundation

/// Numbers as the build log shows them, the same on every host whatever its locale.
enum Figures {
    /// 21344 → "21,344".
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// 312_456_789 → "312 MB"; 1_234_567 → "1.2 MB".
    static func bytes(_ value: Int64) -> String {
        let megabytes = Double(value) / 1_000_000
        if megabytes >= 10 { return "\(Int(megabytes.rounded())) MB" }
        if megabytes >= 0.1 { return String(format: "%.1f MB", megabytes) }
        return "\(Int((Double(value) / 1000).rounded())) kB"
    }

    /// A duration in seconds with one decimal: "0.4 s".
    static func seconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.1f s", seconds)
    }
}
