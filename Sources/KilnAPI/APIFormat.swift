import OpenAPIRuntime

/// How the generated code reads and writes the API's JSON, the same in the
/// server and in the client: sorted keys, unescaped slashes, and dates with
/// milliseconds (queue waits and build phases are shorter than a second).
public enum APIFormat {
    /// The configuration to give the generated `Client` and `registerHandlers`.
    public static let configuration = Configuration(dateTranscoder: .iso8601WithFractionalSeconds, jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])
}
