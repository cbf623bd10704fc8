import Datasets

/// Hyper-parameters of a run, with HF Trainer's meanings. Stored in every checkpoint so that a
/// resumed run can check it continues the same run.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var learningRate: Float = 3e-4
    public var batchSize = 32
    /// Passes over the training set; ignored when `maxSteps` is set.
    public var epochs = 1
    /// Optimizer steps in total (overrides `epochs`).
    public var maxSteps: Int? = nil
    public var warmupSteps = 0
    public var weightDecay: Float = 0
    public var maxGradNorm: Float = 1
    public var schedule: LearningRateSchedule = .linear
    public var seed: UInt64 = 42
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Log every N steps (loss averaged over them).
    public var logEvery = 10
    /// Evaluate every N steps (and always at the end when an eval set is given).
    public var evalEvery: Int? = nil
    /// Checkpoint every N steps (and always at the end).
    public var saveEvery: Int? = nil
    /// Checkpoints kept besides the best one.
    public var keepCheckpoints = 2
    public var padding: BatchPadding = .longest
    public var maxLength = 100
    public var evalBatchSize = 64

    public init() {}

    /// Total optimizer steps for a training set of `count` examples.
    public func totalSteps(examples count: Int) -> Int {
        if let maxSteps { return maxSteps }
        return epochs * ((count + batchSize - 1) / batchSize)
    }

    /// Throws on values no run can use.
    public func validate() throws {
        func bad(_ s: String) -> TrainingError { .invalidConfiguration(s) }
        if batchSize < 1 { throw bad("batch size must be at least 1") }
        if epochs < 1 && maxSteps == nil { throw bad("epochs must be at least 1") }
        if let maxSteps, maxSteps < 1 { throw bad("max steps must be at least 1") }
        if !(learningRate > 0) || !learningRate.isFinite { throw bad("learning rate must be positive") }
        if warmupSteps < 0 { throw bad("warm-up steps cannot be negative") }
        if weightDecay < 0 { throw bad("weight decay cannot be negative") }
        if maxGradNorm < 0 { throw bad("max grad norm cannot be negative (0 disables clipping)") }
        if logEvery < 1 { throw bad("log interval must be at least 1") }
        if let evalEvery, evalEvery < 1 { throw bad("eval interval must be at least 1") }
        if let saveEvery, saveEvery < 1 { throw bad("save interval must be at least 1") }
        if maxLength < 2 { throw bad("max length must be at least 2") }
    }
}

/// Errors of training runs, naming the file or setting at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case checkpoint(path: String, detail: String)
    case output(path: String, detail: String)
    case diverged(step: Int, detail: String)
    /// The process group failed or disagreed (data-parallel training).
    case distributed(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): "invalid training configuration: \(s)"
        case .checkpoint(let path, let detail): "\(path): \(detail)"
        case .output(let path, let detail): "\(path): \(detail)"
        case .diverged(let step, let detail): "training stopped at step \(step): \(detail); the last checkpoint is intact"
        case .distributed(let detail): "data-parallel training: \(detail)"
        }
    }
}
