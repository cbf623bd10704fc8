import Foundation

/// The processes that train one model together by data parallelism: each computes the gradients of
/// its share of every global batch, and the shares are summed so that every process applies the same
/// update. Training knows nothing about the transport; `DistributedTraining.MPIGroup` implements this
/// over MPI, and `SingleProcess` is the group of one.
///
/// Every operation is collective: each process of the group must call it, in the same order, with
/// the same sizes. An implementation throws `TrainingError.distributed` when the others stay silent
/// past its timeout or the transport fails, instead of waiting for ever.
public protocol ProcessGroup: AnyObject {
    /// This process's index, `0 ..< size`; process 0 alone writes logs, checkpoints and outputs.
    var rank: Int { get }
    var size: Int { get }
    /// Starts summing `count` floats at `buffer` over every process, in place. The buffer must stay
    /// valid and untouched until `waitAll` returns.
    func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Starts summing `count` doubles at `buffer` in place (same rules).
    func startSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws
    /// Waits for every started sum; `what` names the work in a timeout's message.
    func waitAll(_ what: String) throws
    /// Element-wise minimum and maximum over every process.
    func minMax(_ values: [UInt64], _ what: String) throws -> (min: [UInt64], max: [UInt64])
}

extension ProcessGroup {
    public var isLeader: Bool { rank == 0 }

    /// Sums `values` over every process.
    public func sum(_ values: inout [Double], _ what: String) throws {
        guard size > 1, !values.isEmpty else { return }
        try values.withUnsafeMutableBufferPointer { try startSum($0.baseAddress!, count: $0.count) }
        try waitAll(what)
    }

    /// Whether `flag` is true on any process.
    public func any(_ flag: Bool, _ what: String) throws -> Bool {
        guard size > 1 else { return flag }
        return try minMax([flag ? 1 : 0], what).max[0] != 0
    }

    /// Waits until every process reaches this point.
    public func barrier(_ what: String) throws {
        guard size > 1 else { return }
        _ = try minMax([0], what)
    }

    /// This process's contiguous share of `count` items: `count·rank/size ..< count·(rank+1)/size`.
    /// Shares differ by at most one item, and concatenated in rank order they are `0 ..< count`.
    public func share(of count: Int) -> Range<Int> {
        (count * rank / size)..<(count * (rank + 1) / size)
    }
}

/// The group of one process: every collective is the identity.
public final class SingleProcess: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func startSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws {}
    public func waitAll(_ what: String) throws {}
    public func minMax(_ values: [UInt64], _ what: String) throws -> (min: [UInt64], max: [UInt64]) { (values, values) }
}
