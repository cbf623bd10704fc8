import Foundation
import Logging

/// Collects what a `Logger` is given — each entry `[level] message metadata` — for tests that check what
/// is reported (a skipped tensor named once) and what never is (a token or an API key).
public final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    public init() {}

    /// Every entry, in order.
    public var lines: [String] { lock.withLock { collected } }
    public var text: String { lines.joined(separator: "\n") }
    public var count: Int { lines.count }

    /// A logger that writes here, at every level.
    public var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var text = "[\(event.level)] \(event.message)"
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            if !merged.isEmpty { text += " " + merged.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ") }
            capture.lock.withLock { capture.collected.append(text) }
        }
    }
}
