import Foundation
import TOMLKit

/// What one buildpack's bin/detect wrote to its build plan: what it
/// provides and requires, and alternatives (`[[or]]`) tried in order when
/// the first does not fit the group.
public struct CNBBuildPlan: Sendable, Equatable {
    /// One way the buildpack's dependencies could be met.
    public struct Alternative: Sendable, Equatable {
        public var provides: [String]
        public var requires: [Requirement]
        public init(provides: [String] = [], requires: [Requirement] = []) {
            self.provides = provides
            self.requires = requires
        }
        var isEmpty: Bool { provides.isEmpty && requires.isEmpty }
    }

    /// A dependency by name, with what the buildpack says of it.
    public struct Requirement: Sendable, Equatable {
        public var name: String
        public var metadata: [String: String]
        public init(name: String, metadata: [String: String] = [:]) {
            self.name = name
            self.metadata = metadata
        }
    }

    public var alternatives: [Alternative]

    public init(alternatives: [Alternative] = [Alternative()]) { self.alternatives = alternatives }

    /// Parses the plan file; an empty file is a plan with nothing in it.
    public static func parse(_ text: String, file: String) throws -> CNBBuildPlan {
        let table = try CNBTOML.table(text, file: file)
        var alternatives = [try alternative(table, file: file)]
        for or in try CNBTOML.tables(table, "or", in: file) { alternatives.append(try alternative(or, file: file)) }
        return CNBBuildPlan(alternatives: alternatives)
    }

    static func alternative(_ table: TOMLTable, file: String) throws -> Alternative {
        let provides = try CNBTOML.tables(table, "provides", in: file).map { entry in
            guard let name = try CNBTOML.string(entry, "name", in: file), !name.isEmpty else { throw CNBError("\(file): a [[provides]] has no name") }
            return name
        }
        let requires = try CNBTOML.tables(table, "requires", in: file).map { entry in
            guard let name = try CNBTOML.string(entry, "name", in: file), !name.isEmpty else { throw CNBError("\(file): a [[requires]] has no name") }
            return Requirement(name: name, metadata: CNBTOML.strings(entry["metadata"]?.table))
        }
        return Alternative(provides: provides, requires: requires)
    }
}
