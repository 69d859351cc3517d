import Foundation
import Hummingbird
import KilnSigning

extension URLSigner {
    /// Lets a request through on its signed URL: `expires` and `signature`
    /// (its query) must sign `method` and `path` with the farm's URL secret
    /// (compared in constant time), and then not be past. Throws a 403 that
    /// says which: `unsigned` (what to do) when either is missing, an
    /// altered signature, or the time it expired. The one check of every
    /// signed URL the server answers (`/slugs/…`, a hand-off's config URL).
    func authorize(method: String = "GET", path: String, expires: Int?, signature: String?, unsigned: String) throws {
        guard let expires, let signature else { throw HTTPError(.forbidden, message: unsigned) }
        switch check(method: method, path: path, expires: expires, signature: signature) {
        case .badSignature: throw HTTPError(.forbidden, message: "the URL's signature does not match: it was altered, or made by another farm")
        case .expired: throw HTTPError(.forbidden, message: "the URL expired at \(Date(timeIntervalSince1970: TimeInterval(expires)).formatted(.iso8601)): get a new one")
        case .valid: break
        }
    }
}
