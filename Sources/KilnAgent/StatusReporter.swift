import Foundation
import KilnCurl
import KilnProcess
import KilnWebhook
import Logging

/// Reports a deploy's progress to the hand-off's `status_url`:
/// `{"app": APP, "release": "vN", "status": "deploying"|"succeeded"|"failed", "reason": …}`
/// (the app and release named, so that a signed report is bound to its release) signed with
/// `X-Kiln-Signature` and the agent's secret, retried with doubling back-off
/// on no answer, a 5xx or a 429 (five attempts at most); another answer ends it.
struct StatusReporter: Sendable {
    var secret: String
    var logger: Logger
    var attempts = 5
    var firstBackoff: Duration = .seconds(1)

    enum Status: String, Sendable {
        case deploying, succeeded, failed
    }

    /// The JSON body reporting `status` of `app` vN, its reason kept to 1000 characters.
    static func body(_ status: Status, reason: String?, app: String, version: Int) -> Data? {
        var object: [String: String] = ["app": app, "release": "v\(version)", "status": status.rawValue]
        if let reason { object["reason"] = String(reason.prefix(1000)) }
        return try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Posts `status`; never throws (an unreported status is logged). Nothing is sent without a URL.
    func report(_ status: Status, reason: String? = nil, to url: String?, app: String, version: Int) async {
        guard let url, let body = Self.body(status, reason: reason, app: app, version: version) else { return }
        var backoff = firstBackoff
        for attempt in 1...attempts {
            let signature = Webhook.timestampedSignature(of: body, secret: secret, at: Date())
            let answer: Result<Int, CurlFailure>
            do {
                answer = try await onThread {
                    var request = CurlRequest("POST", url, headers: ["Content-Type: application/json", "\(Webhook.timestampedSignatureHeader): \(signature)"],
                                              body: .data(body))
                    request.timeout = .seconds(15)
                    return Result { () throws(CurlFailure) in try request.perform().status }
                }
            } catch {
                return
            }
            let metadata: Logger.Metadata = ["app": "\(app)", "version": "\(version)", "status": "\(status.rawValue)", "attempt": "\(attempt)"]
            switch answer {
            case .success(let code) where (200..<300).contains(code):
                logger.info("status reported", metadata: metadata)
                return
            case .success(let code) where code != 429 && code < 500:
                logger.warning("status refused", metadata: metadata.merging(["http": "\(code)"]) { $1 })
                return
            case .success(let code):
                logger.warning("status not taken; retrying", metadata: metadata.merging(["http": "\(code)"]) { $1 })
            case .failure(let failure):
                logger.warning("status not delivered; retrying", metadata: metadata.merging(["error": "\(failure.message)"]) { $1 })
            }
            if attempt < attempts {
                try? await Task.sleep(for: backoff)
                backoff *= 2
            }
        }
        logger.error("status given up", metadata: ["app": "\(app)", "version": "\(version)", "status": "\(status.rawValue)"])
    }
}
