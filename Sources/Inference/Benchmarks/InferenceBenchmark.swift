import Encoders
import Foundation
import Kernels

/// Measures classification inference as the baseline's `*_infer` cases do: one warm-up, then
/// `steps` timed batches of 32 × 100, then batch-1 latency over 16 tokens.
public struct InferenceBenchmark {
    public struct Result: Sendable {
        public let architecture: BenchmarkArchitecture
        public let stepSeconds: [Double]
        public let latencyMilliseconds: [Double]
        public let batch: Int
        /// Seconds and FLOPs per kernel family over the timed batch steps.
        public let breakdown: [(section: Profiler.Section, seconds: Double, flops: Double)]
        /// The same over the batch-1 latency runs.
        public let latencyBreakdown: [(section: Profiler.Section, seconds: Double, flops: Double)]
        public let forwardFLOPs: Double

        public var samplesPerSecondMedian: Double { Double(batch) / median(stepSeconds) }
        public var samplesPerSecondBest: Double { Double(batch) / (stepSeconds.min() ?? .nan) }
        public var latencyMedian: Double { median(latencyMilliseconds) }
    }

    public var batch = 32
    public var length = 100
    public var steps = 5
    public var latencyTokens = 16
    public var latencyRepeats = 30
    /// bf16: the GEMM weights are kept in bf16 only, as `predict --precision bf16` loads them.
    public var precision: ResolvedPrecision = .fp32

    public init() {}

    /// A model with random weights and its two batches, built once and measured any number of times.
    public struct Setup {
        public let architecture: BenchmarkArchitecture
        let model: EncoderModel
        let full: TokenBatch
        let one: TokenBatch
    }

    public func prepare(_ architecture: BenchmarkArchitecture) throws -> Setup {
        let model = architecture.makeModel(seed: 0)
        if precision == .bf16 { model.weights.releaseFP32Matrices() }
        return Setup(
            architecture: architecture, model: model,
            full: try architecture.makeBatch(batch: batch, length: length, seed: 0),
            one: try architecture.makeBatch(batch: 1, length: latencyTokens, seed: 1))
    }

    public func run(_ architecture: BenchmarkArchitecture) throws -> Result { try run(prepare(architecture)) }

    public func run(_ setup: Setup) throws -> Result {
        let architecture = setup.architecture
        let model = setup.model
        let full = setup.full
        let one = setup.one
        _ = try model.classify(full)
        let profiler = Profiler.shared
        profiler.reset()
        profiler.isEnabled = true
        var times: [Double] = []
        for _ in 0..<steps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try model.classify(full)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        profiler.isEnabled = false
        let breakdown = profiler.snapshot()
        profiler.reset()
        for _ in 0..<5 { _ = try model.classify(one) }
        // Profiled separately: the timers' own cost is visible at millisecond scale.
        profiler.isEnabled = true
        for _ in 0..<latencyRepeats { _ = try model.classify(one) }
        profiler.isEnabled = false
        let latencyBreakdown = profiler.snapshot()
        profiler.reset()
        var latency: [Double] = []
        for _ in 0..<latencyRepeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try model.classify(one)
            latency.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return Result(
            architecture: architecture, stepSeconds: times, latencyMilliseconds: latency, batch: batch,
            breakdown: breakdown, latencyBreakdown: latencyBreakdown,
            forwardFLOPs: architecture.forwardFLOPs(batch: batch, length: length))
    }
}

public func median(_ xs: [Double]) -> Double {
    if xs.isEmpty { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
