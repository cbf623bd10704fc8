import Foundation

/// Opt-in wall-clock accounting per kernel family, for "where does the time go" reports
/// (`adapters bench`). Off by default: when disabled, `measure` costs one branch.
public final class Profiler: @unchecked Sendable {
    public enum Section: String, CaseIterable, Sendable {
        case embedding, gemm, attention, layerNorm, activation, head, other
    }

    public static let shared = Profiler()
    public var isEnabled = false
    private var nanos = [Section: UInt64]()
    private var flops = [Section: Double]()
    private let lock = NSLock()

    /// Runs `body`, adding its duration (and optional FLOP count) to `section` when enabled.
    @inlinable
    public func measure<T>(_ section: Section, flops: Double = 0, _ body: () throws -> T) rethrows -> T {
        if !isEnabled { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        record(section, nanoseconds: DispatchTime.now().uptimeNanoseconds - start, flops: flops)
        return result
    }

    public func record(_ section: Section, nanoseconds: UInt64, flops: Double) {
        lock.lock()
        nanos[section, default: 0] += nanoseconds
        self.flops[section, default: 0] += flops
        lock.unlock()
    }

    public func reset() {
        lock.lock()
        nanos = [:]
        flops = [:]
        lock.unlock()
    }

    /// Seconds and FLOPs per section since the last reset.
    public func snapshot() -> [(section: Section, seconds: Double, flops: Double)] {
        lock.lock()
        defer { lock.unlock() }
        return Section.allCases.compactMap { s in
            guard let n = nanos[s] else { return nil }
            return (s, Double(n) / 1e9, flops[s] ?? 0)
        }
    }
}
