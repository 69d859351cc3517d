import Foundation
import KilnCatalog
import KilnImage
import KilnQueue
import Logging

extension RecordRelease {
    /// Tags a released image `vN` in the registry, beside its `b-N` tag.
    /// Only a convenience for people browsing it: releases name the digest,
    /// so a failure is logged and the build stays succeeded.
    func tag(_ image: String, of build: Build, logger: Logger) async {
        guard let registry else { return }
        do {
            guard let release = try await Catalog(database: database).releases(app: build.app).first(where: { $0.build == build.id }) else { return }
            let reference = try ImageReference(parsing: image)
            try await ImageTagger(registry: registry).tag(reference, as: "v\(release.version)")
        } catch {
            logger.warning("cannot tag the released image", metadata: ["image": "\(image)", "error": "\(error)"])
        }
    }
}
