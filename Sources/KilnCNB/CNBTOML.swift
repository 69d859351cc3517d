import Foundation
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
