import Foundation
import KilnConfine
import TOMLKit

/// TOML as the CNB files are read: parsed by TOMLKit, and turned at once
/// into Kiln's own values (TOMLKit's tables are classes, not Sendable). A
/// parse error names the file and the line.
enum CNBTOML {
    static func table(_ text: String, file: String) throws -> TOMLTable {
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw CNBError("\(file) is not valid TOML (line \(error.source.begin.line)): \(error.description)")
        }
    }

    static func string(_ table: TOMLTable, _ key: String, in file: String, required: Bool = false) throws -> String? {
        guard let value = table[key] else {
            if required { throw CNBError("\(file) has no \(key)") }
            return nil
        }
        guard let text = value.string else { throw CNBError("\(file): \(key) must be a string") }
        return text
    }

    static func bool(_ table: TOMLTable, _ key: String, in file: String) throws -> Bool {
        guard let value = table[key] else { return false }
        guard let flag = value.bool else { throw CNBError("\(file): \(key) must be true or false") }
        return flag
    }

    /// An array of tables (`[[order]]`), empty when the key is absent.
    static func tables(_ table: TOMLTable, _ key: String, in file: String) throws -> [TOMLTable] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw CNBError("\(file): \(key) must be an array of tables ([[\(key)]])") }
        return try array.map { item in
            guard let entry = item.table else { throw CNBError("\(file): each \(key) must be a table ([[\(key)]])") }
            return entry
        }
    }

    /// A table's string values (a requirement's `metadata`), others written as TOML would.
    static func strings(_ table: TOMLTable?) -> [String: String] {
        guard let table else { return [:] }
        var values: [String: String] = [:]
        for key in table.keys { values[key] = table[key]?.string ?? table[key].map { "\($0)" } }
        return values
    }
}

/// The TOML Kiln writes for buildpacks to read (plans, `group.toml`):
/// small enough to write by hand, with every string quoted so that what a
/// buildpack wrote comes back as it was, whatever its characters.
enum CNBTOMLWriter {
    /// A TOML basic string.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f { out += String(format: "\\u%04X", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// `[[TABLE]]` with the requirement's name, and its metadata as `[TABLE.metadata]`.
    static func requirement(_ requirement: CNBBuildPlan.Requirement, table: String) -> String {
        var text = "[[\(table)]]\nname = \(quoted(requirement.name))\n"
        if !requirement.metadata.isEmpty {
            text += "[\(table).metadata]\n" + requirement.metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)) = \(quoted($0.value))\n" }.joined()
        }
        return text
    }

    /// Writes `text` as `name` in `directory`, replacing what was there (beneath its descriptor).
    static func replace(_ name: String, with text: String, in directory: ConfinedDirectory) throws {
        try? directory.remove(name)
        let handle = try directory.createFile(name)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }
}
