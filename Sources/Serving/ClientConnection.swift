import NIOCore

/// The connection a request came on, so that work queued for a client that has gone can be dropped.
///
/// HTTP/1.1 servers do not read a connection while its request is being answered (NIO holds reads back
/// until the response, so pipelined requests wait), so a client's close is not seen as an event. The
/// kernel sees it: a peer that closed its side leaves the socket out of ESTABLISHED (CLOSE_WAIT after its
/// FIN, CLOSE after a reset), which TCP_INFO reports. A client that half-closes on purpose and waits for its
/// answer looks the same; HTTP clients do not do that.
struct ClientConnection: Sendable {
    let channel: any Channel

    /// The request's connection while a handler runs (child tasks inherit it).
    @TaskLocal static var current: ClientConnection?

    /// Starts asking whether the client has gone; `nil` when this platform cannot tell.
    func checkGone() -> EventLoopFuture<Bool>? {
        if !channel.isActive { return channel.eventLoop.makeSucceededFuture(true) }
        #if os(Linux)
            guard let provider = channel as? SocketOptionProvider else { return nil }
            // tcp_info.tcpi_state: 1 is TCP_ESTABLISHED (linux/tcp.h); a socket that cannot be asked is gone.
            return provider.getTCPInfo().map { $0.tcpi_state != 1 }.recover { _ in true }
        #else
            return nil
        #endif
    }
}
