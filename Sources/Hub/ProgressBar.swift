import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line transfer progress bar on standard error, drawn only when standard error is a terminal (so logs and
/// pipes stay clean). Updates are throttled; thread-safe, so it can be handed to concurrent downloads as
/// ``FileProgressHandler``.
public final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled: Bool
    private let width: Int
    private var files: [String: (done: Int64, total: Int64?)] = [:]
    private var lastDraw = Date.distantPast

    /// `enabled` defaults to whether standard error is a terminal.
    public init(enabled: Bool = isatty(STDERR_FILENO) != 0, width: Int = 30) {
        self.enabled = enabled
        self.width = width
    }

    /// Feed as a ``FileProgressHandler``.
    public var handler: FileProgressHandler {
        { [self] path, done, total in self.update(path, done: done, total: total) }
    }

    /// Records progress of one file and redraws at most ten times a second (always at completion).
    public func update(_ path: String, done: Int64, total: Int64?) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        files[path] = (done, total)
        let finished = total.map { done >= $0 } ?? false
        let now = Date()
        guard finished || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        draw(current: path)
    }

    /// Ends the line.
    public func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(current: String) {
        let done = files.values.reduce(Int64(0)) { $0 + $1.done }
        let total = files.values.reduce(Int64(0)) { $0 + ($1.total ?? $1.done) }
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let name = current.count > 30 ? "…" + current.suffix(29) : current
        let line = "\r[\(bar)] \(Self.bytes(done))/\(Self.bytes(total)) \(name)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// `1.2 MB`-style sizes.
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
    }
}
