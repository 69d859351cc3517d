import Foundation

/// The second fetch phase, shared by every kind of build: the app's config vars, one file each in ENV_DIR (the
/// file named after the var, its value the content), as Heroku gives them
/// to `bin/compile`; then the build's directories go to the build user.
struct WriteConfig {
    func run(_ context: BuildContext) async throws {
        let config = context.settings.config
        for (name, value) in config.vars {
            let file = context.workspace.env.appendingPathComponent(name)
            try Data(value.utf8).write(to: file)
            chmod(file.path, 0o400)
        }
        if config.version > 0 {
            await context.log("-----> Config v\(config.version): \(config.vars.keys.sorted().joined(separator: ", "))")
        }
        try await context.handOver(context.workspace.app)
        try await context.handOver(context.workspace.env)
    }
}
