import NIOCore

/// One of a pair of handlers that join two channels, a client's and its
/// backend's: what one reads the other writes, and one reads only while the
/// other can write (backpressure). A close or EOF on one side is passed to the
/// other; a side whose both directions are shut is closed fully (once what was
/// written to it is out), so that a pair of half-closures leaves no connection
/// open. Made and added on the channels' one event loop, never shared across.
final class GlueHandler {
    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// This side's peer sent EOF.
    private var inputClosed = false
    /// This side's output was shut (the partner's peer sent EOF).
    private var outputClosed = false
    /// The last write to this side, to close after.
    private var lastWrite: EventLoopFuture<Void>?

    private init() {}

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(), second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    private func partnerWrite(_ data: NIOAny) {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.write(data, promise: promise)
        lastWrite = promise.futureResult
    }

    private func partnerFlush() { context?.flush() }

    private func partnerWriteEOF() {
        guard let context, !outputClosed else { return }
        outputClosed = true
        guard inputClosed else {
            context.close(mode: .output, promise: nil)
            return
        }
        // Its peer is done sending too: what was written goes out, then the connection closes fully.
        context.flush()
        let channel = context.channel
        (lastWrite ?? context.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in channel.close(promise: nil) }
    }

    private func partnerCloseFull() { context?.close(promise: nil) }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }
}

extension GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The partner may have asked before this side could answer.
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { partner?.partnerCloseFull() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event, !inputClosed else { return }
        inputClosed = true
        partner?.partnerWriteEOF()
        // Its output was shut before: both directions are done.
        if outputClosed { context.close(promise: nil) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
