import Foundation
import KilnProcess
import KilnSandbox

/// Chooses the stack a slug build runs on, before anything else of the
/// build: the app's (`kiln apps set --stack`), as this worker has it. A
/// worker without it fails the build at once, naming the stack and the ones
/// it has, rather than build on another system than the app asked for.
struct SelectStack {
    let stacks: StackDirectory

    func run(_ context: BuildContext) async throws -> Stack {
        let app = context.settings.app
        let stack: Stack
        do {
            stack = try await onThread { [stacks] in try stacks.stack(named: app.stack) }
        } catch let error as StackError {
            throw BuildFailure("the app's stack \(app.stack) cannot be used: \(error); or run the app on another with `kiln apps set --app \(app.name) --stack NAME`")
        }
        await context.log("-----> Stack: \(stack)")
        return stack
    }
}
