import Foundation

/// `GET /apps/APP`: `{"app", "port", "version", "state", "deploys"}`, nulls written out.
struct AppStatus: Encodable, Sendable {
    var app: String
    var port: Int?
    var version: Int?
    /// `running` or `none`.
    var state: String
    var deploys: [DeployRecord]

    enum CodingKeys: String, CodingKey {
        case app, port, version, state, deploys
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(app, forKey: .app)
        try container.encode(port, forKey: .port)
        try container.encode(version, forKey: .version)
        try container.encode(state, forKey: .state)
        try container.encode(deploys.map(DeployJSON.init), forKey: .deploys)
    }
}

/// `GET /apps/APP/deploys`: the outcomes after the first `after`, and how many there are in all.
struct DeployList: Encodable, Sendable {
    var app: String
    var after: Int
    var count: Int
    var deploys: [DeployRecord]

    enum CodingKeys: String, CodingKey {
        case app, after, count, deploys
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(app, forKey: .app)
        try container.encode(after, forKey: .after)
        try container.encode(count, forKey: .count)
        try container.encode(deploys.map(DeployJSON.init), forKey: .deploys)
    }
}

/// One outcome on the wire: `{"version", "outcome", "reason", "at"}`, nulls written out.
struct DeployJSON: Encodable {
    var record: DeployRecord

    init(_ record: DeployRecord) { self.record = record }

    enum CodingKeys: String, CodingKey {
        case version, outcome, reason, at
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(record.version, forKey: .version)
        try container.encode(record.outcome, forKey: .outcome)
        try container.encode(record.reason, forKey: .reason)
        try container.encode(record.at, forKey: .at)
    }
}
