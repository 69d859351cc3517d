import Foundation
import KilnReceiver
import Logging
import NIOCore
import NIOSSH

/// One SSH session channel: takes one `exec` of git (and the client's
/// `GIT_PROTOCOL`), runs it through ``GitProcess`` and carries its input and
/// output; a shell, a subsystem or any other command gets a one-line answer on
/// stderr and exit status 1. Runs on the channel's event loop only.
final class GitSessionHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData

    let access: GitSSHAccess
    let fingerprint: String
    let logger: Logger
    private var gitProtocol: String?
    private var started = false
    private var input: AsyncStream<ByteBuffer>.Continuation?
    /// Buffers handed to git's writer and not yet written.
    private let pending = InputCredit()
    private var session: Task<Void, Never>?

    init(access: GitSSHAccess, fingerprint: String, logger: Logger) {
        self.access = access
        self.fingerprint = fingerprint
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Half-closure: git's input ends (EOF) before its output does.
        // No automatic reads: the client's bytes are read as git takes them, so a push is never buffered whole.
        context.channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).whenFailure { _ in }
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    func channelInactive(context: ChannelHandlerContext) {
        input?.finish()
        session?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            // git asks for protocol v2 this way; nothing else of the client's environment is taken.
            let taken = request.name == "GIT_PROTOCOL"
            if taken { gitProtocol = request.value }
            if request.wantReply { reply(context, taken) }
        case let request as SSHChannelRequestEvent.ExecRequest:
            guard !started else {
                if request.wantReply { reply(context, false) }
                return
            }
            started = true
            if request.wantReply { reply(context, true) }
            start(command: request.command, channel: context.channel)
        case let request as SSHChannelRequestEvent.ShellRequest:
            guard !started else {
                if request.wantReply { reply(context, false) }
                return
            }
            started = true
            if request.wantReply { reply(context, true) }
            refuse(ReceiverError("Kiln serves git only, no shell: push with `git push ssh://git@HOST:PORT/APP.git`"), channel: context.channel)
        case let request as SSHChannelRequestEvent.SubsystemRequest:
            if request.wantReply { reply(context, false) }
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            // No terminal: git needs none, and a shell is never run.
            if request.wantReply { reply(context, false) }
        case let event as ChannelEvent where event == .inputClosed:
            input?.finish()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        // Only the session's own data is git's input; extended data from a client means nothing here.
        guard case .channel = message.type, case .byteBuffer(let bytes) = message.data else { return }
        guard let input else { return }
        pending.add()
        input.yield(bytes)
    }

    private func reply(_ context: ChannelHandlerContext, _ success: Bool) {
        if success {
            context.channel.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil)
        } else {
            context.channel.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil)
        }
    }

    private func start(command: String, channel: any Channel) {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        input = continuation
        let access = access, fingerprint = fingerprint, logger = logger, gitProtocol = gitProtocol, pending = pending
        // A stranger's text, in the server's log: printable ASCII only, so that it cannot forge log lines.
        let shown = GitSSHRequest.printable(command, limit: 120)
        // The first bytes of git's input (a push's commands and pack).
        channel.read()
        session = Task {
            let status: Int32
            do {
                let request = try GitSSHRequest(command: command)
                let invocation = try await access.invocation(for: request, fingerprint: fingerprint, gitProtocol: gitProtocol)
                logger.info("ssh git session", metadata: ["app": "\(invocation.app)", "service": "\(invocation.service.rawValue)", "fingerprint": "\(fingerprint)"])
                status = try await GitProcess(invocation: invocation, logger: logger).run(input: stream, credit: pending, channel: channel)
            } catch let error as ReceiverError {
                logger.notice("ssh command refused", metadata: ["command": "\(shown)", "fingerprint": "\(fingerprint)", "reason": "\(error)"])
                await SessionEnd.finish(channel, message: error.description, status: 1)
                return
            } catch {
                logger.error("ssh git session failed", metadata: ["command": "\(shown)", "fingerprint": "\(fingerprint)", "error": "\(error)"])
                await SessionEnd.finish(channel, message: "Kiln could not serve this request; the server's log has the cause", status: 1)
                return
            }
            await SessionEnd.finish(channel, message: nil, status: status)
        }
    }

    private func refuse(_ error: ReceiverError, channel: any Channel) {
        session = Task { await SessionEnd.finish(channel, message: error.description, status: 1) }
    }
}

/// How a session channel ends.
enum SessionEnd {
    /// Writes `message` on stderr, then the exit status, then closes the channel.
    static func finish(_ channel: any Channel, message: String?, status: Int32) async {
        if let message {
            let bytes = ByteBuffer(string: "kiln: \(message)\n")
            try? await channel.writeAndFlush(SSHChannelData(type: .stdErr, data: .byteBuffer(bytes))).get()
        }
        try? await channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: Int(status))).get()
        try? await channel.close().get()
    }
}
