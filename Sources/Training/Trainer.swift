import Datasets
import Encoders
import Foundation
import Kernels
import ModelIO

/// What a run reports as it goes; the CLI turns these into a progress bar or plain lines.
public enum TrainingEvent: Sendable {
    case started(totalSteps: Int, resumedFrom: Int?, trainableParameters: Int)
    case step(step: Int, totalSteps: Int, loss: Float, learningRate: Float, gradNorm: Float, samplesPerSecond: Double)
    case logged(step: Int, epoch: Double, loss: Float, learningRate: Float, gradNorm: Float, samplesPerSecond: Double)
    case evaluated(step: Int, metrics: ClassificationMetrics)
    /// The evaluation of a regression, multi-label or tagging head.
    case evaluatedTask(step: Int, metrics: TaskMetrics)
    case checkpointSaved(step: Int, url: URL)
    /// An event of one of several models trained together (a Parallel's branch), named by its head:
    /// each branch's `evaluated` / `evaluatedTask`.
    indirect case branch(head: String, TrainingEvent)
}

/// Summary of a finished (or stopped) run.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var finalLoss: Float
    public var evaluation: ClassificationMetrics?
    /// The last evaluation of a regression, multi-label or tagging head (then `evaluation` is nil).
    public var taskEvaluation: TaskMetrics?
    public var bestStep: Int?
    /// Seconds this process trained (since the resume, for a resumed run).
    public var seconds: Double
    /// Seconds of training over the whole run, every resumed process included.
    public var totalSeconds: Double
    public var samplesPerSecond: Double
    /// Each model's last evaluation, by head, in the order the models were given (one entry for a single model).
    public var branchEvaluations: [BranchEvaluation] = []

    /// The last evaluation of one of the models trained together.
    public struct BranchEvaluation: Sendable {
        public var head: String
        public var evaluation: ClassificationMetrics?
        public var taskEvaluation: TaskMetrics?
    }
}

/// The training loop: seeded batches, dropout streams derived from (seed, step), loss and
/// backward, global-norm clipping, the learning-rate schedule and AdamW; logging, evaluation and
/// atomic checkpoints. Resuming from a checkpoint continues on exactly the trajectory an
/// uninterrupted run takes.
///
/// Several models over one frozen base train together as AdapterHub's `train_adapter(Parallel(a, b))` trains
/// its branches: each sees every batch through its own adapter and head, the loss is the sum of theirs, the
/// gradients are clipped by their joint norm, and one AdamW with one schedule steps them all.
public final class Trainer {
    /// The first (or only) model.
    public let model: AdapterModel
    /// Every model trained, in order (a Parallel's branches); `[model]` for one.
    public let models: [AdapterModel]
    public let train: TokenizedDataset
    public let eval: TokenizedDataset?
    public let config: TrainingConfig
    public let padId: Int32
    public let output: URL
    /// Called with every event; return false to stop after the current step (no checkpoint is
    /// written for the stop: it behaves like a killed process). In a process group every process
    /// gets the events (with the group's numbers) and a stop on any process stops all of them.
    public var observer: ((TrainingEvent) -> Bool)?
    /// The processes training this model together (data parallelism). Each computes the gradients of
    /// its share of every global batch of `config.batchSize` examples; the sums make every process
    /// take the same step. Process 0 alone writes the log and checkpoints; evaluation is sharded.
    public var group: ProcessGroup = SingleProcess()
    /// Micro-batches per optimizer step on each process: a process's share of the global batch runs
    /// in this many parts whose gradients add up, so a large global batch fits in memory.
    public var gradientAccumulationSteps = 1

    public convenience init(
        model: AdapterModel, train: TokenizedDataset, eval: TokenizedDataset?, config: TrainingConfig, padId: Int32, output: URL
    ) throws {
        try self.init(models: [model], train: train, eval: eval, config: config, padId: padId, output: output)
    }

    /// Trains `models` together (AdapterHub's Parallel): their heads must be of one kind with the same labels
    /// (every batch's targets go to each), and no tensor may belong to two of them.
    public init(
        models: [AdapterModel], train: TokenizedDataset, eval: TokenizedDataset?, config: TrainingConfig, padId: Int32,
        output: URL
    ) throws {
        try config.validate()
        guard let model = models.first else { throw TrainingError.invalidConfiguration("no model to train") }
        guard train.count > 0 else { throw TrainingError.invalidConfiguration("the training set is empty") }
        guard models.allSatisfy(\.parameters.trainable) else {
            throw TrainingError.invalidConfiguration("the model was built to run only (trainable: false)")
        }
        var owner: [String: String] = [:]
        for m in models {
            if m.head.config.type != model.head.config.type || m.head.labels != model.head.labels {
                throw TrainingError.invalidConfiguration(
                    "models trained together read the same targets: head '\(m.head.name)' (\(m.head.describe)) does not match head '\(model.head.name)' (\(model.head.describe))"
                )
            }
            for name in m.parameters.entries.map(\.name) + m.bufferSlots.map(\.name) {
                if let other = owner[name] {
                    throw TrainingError.invalidConfiguration(
                        "heads '\(other)' and '\(m.head.name)' both hold the tensor '\(name)': models trained together need adapters and heads of their own names"
                    )
                }
                owner[name] = m.head.name
            }
        }
        self.model = model
        self.models = models
        self.train = train
        self.eval = eval
        self.config = config
        self.padId = padId
        self.output = output
    }

    /// Runs to the configured number of steps, from the latest checkpoint when `resume` is set.
    public func run(resume: Bool = false) throws -> TrainingSummary {
        guard gradientAccumulationSteps >= 1 else {
            throw TrainingError.invalidConfiguration("gradient accumulation steps must be at least 1")
        }
        let leader = group.isLeader
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: output, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.output(path: output.path, detail: "cannot create the output folder: \(error.localizedDescription)")
        }
        guard fm.isWritableFile(atPath: output.path) else {
            throw TrainingError.output(path: output.path, detail: "the output folder is not writable")
        }
        let total = config.totalSteps(examples: train.count)
        var state = TrainerState(
            step: 0,
            optimizer: AdamW(beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, weightDecay: config.weightDecay),
            sampler: BatchSampler(count: train.count, batchSize: config.batchSize, seed: config.seed), bestMetric: nil,
            bestStep: nil, config: config, elapsedSeconds: 0)
        var resumedFrom: Int?
        // A checkpoint visible to only some processes (output folders not shared) would split the run.
        let latestCheckpoint = resume ? Checkpoint.list(output).last : nil
        if group.size > 1 {
            let step = UInt64(latestCheckpoint.map { $0.step + 1 } ?? 0)
            let seen = try group.minMax([step], "agreeing on the checkpoint to resume from")
            if seen.min != seen.max {
                throw TrainingError.distributed(
                    "the processes see different checkpoints in \(output.path) (steps \(Int(seen.min[0]) - 1) to \(Int(seen.max[0]) - 1); -1 is none): give every process the same, shared output folder")
            }
        }
        if let latest = latestCheckpoint {
            let saved = try Checkpoint.load(latest.url, into: models)
            guard saved.config == config else {
                throw TrainingError.checkpoint(
                    path: latest.url.path, detail: "was written with other hyper-parameters; resume with the same flags or a new --output")
            }
            state = saved
            resumedFrom = saved.step
        }
        try checkSameStart()
        if leader { Checkpoint.removeInterruptedSaves(output) }
        let log = leader ? try LogFile(output.appendingPathComponent("train_log.jsonl"), truncate: resumedFrom == nil) : nil
        _ = observer?(
            .started(
                totalSteps: total, resumedFrom: resumedFrom,
                trainableParameters: models.reduce(0) { $0 + $1.parameters.parameterCount }))
        let start = DispatchTime.now().uptimeNanoseconds
        let elapsedBefore = state.elapsedSeconds ?? 0
        /// Seconds of training so far over the whole run (what logs and checkpoints record).
        func elapsed() -> Double { elapsedBefore + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var windowLoss = 0.0
        var windowSteps = 0
        var windowSamples = 0
        var windowStart = start
        var lastLoss: Float = .nan
        var lastEvals = models.map { SummaryBranch(head: $0.head.name) }
        var samplesDone = 0
        var stopped = false
        while state.step < total && !stopped {
            let indices = state.sampler.next()
            let loss = try computeGradients(global: indices, step: state.step).reduce(0, +)
            let gradNorm = GradientClipping.clip(models.map(\.parameters), maxNorm: config.maxGradNorm)
            guard gradNorm.isFinite else {
                throw TrainingError.diverged(step: state.step + 1, detail: "the gradient norm is \(gradNorm)")
            }
            let lr = config.learningRate * config.schedule.factor(step: state.step, warmupSteps: config.warmupSteps, totalSteps: total)
            state.optimizer.update(models.map(\.parameters), learningRate: lr)
            state.step += 1
            lastLoss = loss
            windowLoss += Double(loss)
            windowSteps += 1
            windowSamples += indices.count
            samplesDone += indices.count
            let now = DispatchTime.now().uptimeNanoseconds
            let rate = Double(windowSamples) / max(1e-9, Double(now - windowStart) / 1e9)
            if observer?(.step(step: state.step, totalSteps: total, loss: loss, learningRate: lr, gradNorm: gradNorm, samplesPerSecond: rate)) == false {
                stopped = true
            }
            stopped = try group.any(stopped, "agreeing whether to stop")
            if state.step % config.logEvery == 0 || state.step == total {
                let epoch = Double(state.sampler.epoch) + Double(state.sampler.position) / Double(max(1, train.count))
                let mean = Float(windowLoss / Double(windowSteps))
                try log?.write(
                    "{\"step\":\(state.step),\"epoch\":\(String(format: "%.4f", epoch)),\"loss\":\(mean),\"learning_rate\":\(lr),\"grad_norm\":\(gradNorm),\"samples_per_second\":\(String(format: "%.2f", rate)),\"elapsed_seconds\":\(String(format: "%.3f", elapsed()))}")
                _ = observer?(.logged(step: state.step, epoch: epoch, loss: mean, learningRate: lr, gradNorm: gradNorm, samplesPerSecond: rate))
                windowLoss = 0
                windowSteps = 0
                windowSamples = 0
                windowStart = now
            }
            if stopped { break }
            let evalNow = eval != nil && ((config.evalEvery.map { state.step % $0 == 0 } ?? false) || state.step == total)
            if evalNow, let eval {
                let named = models.count > 1
                var fields: [String] = []
                var values: [Float] = []
                var events: [TrainingEvent] = []
                for (k, m) in models.enumerated() {
                    let result = try Self.evaluateBranch(
                        m, dataset: eval, config: config, padId: padId, group: group, step: state.step)
                    lastEvals[k].evaluation = result.evaluation
                    lastEvals[k].taskEvaluation = result.taskEvaluation
                    // One model keeps the log's field names; several are told apart by their heads' names.
                    let prefix = named ? "eval_\(m.head.name)_" : "eval_"
                    fields.append("\"\(prefix)loss\":\(result.loss)")
                    fields += result.fields.map { "\"\(prefix)\($0.key)\":\($0.value)" }
                    fields.append("\"\(prefix)samples_per_second\":\(String(format: "%.2f", result.rate))")
                    values.append(result.value)
                    events.append(named ? .branch(head: m.head.name, result.event) : result.event)
                }
                try log?.write(
                    "{\"step\":\(state.step),\(fields.joined(separator: ",")),\"elapsed_seconds\":\(String(format: "%.3f", elapsed()))}")
                // Several models: the best checkpoint is the one with the best mean of their metrics.
                let value = values.reduce(0, +) / Float(values.count)
                if state.bestMetric.map({ value > $0 }) ?? true {
                    state.bestMetric = value
                    state.bestStep = state.step
                }
                for event in events {
                    if observer?(event) == false { stopped = true }
                }
                stopped = try group.any(stopped, "agreeing whether to stop")
            }
            let saveNow = (config.saveEvery.map { state.step % $0 == 0 } ?? false) || state.step == total
            if saveNow {
                state.elapsedSeconds = elapsed()
                if leader {
                    let url = try Checkpoint.save(models: models, state: state, output: output)
                    try prune(keeping: state.bestStep)
                    if observer?(.checkpointSaved(step: state.step, url: url)) == false { stopped = true }
                }
                stopped = try group.any(stopped, "agreeing whether to stop")
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return TrainingSummary(
            steps: state.step, finalLoss: lastLoss, evaluation: lastEvals[0].evaluation,
            taskEvaluation: lastEvals[0].taskEvaluation, bestStep: state.bestStep,
            seconds: seconds,
            totalSeconds: elapsedBefore + seconds,
            samplesPerSecond: Double(samplesDone) / max(seconds, 1e-9),
            branchEvaluations: lastEvals)
    }

    private typealias SummaryBranch = TrainingSummary.BranchEvaluation

    /// One model's evaluation: its metrics, its log fields (without the `eval_` prefix), the value that keeps
    /// the best checkpoint, and its event.
    private static func evaluateBranch(
        _ model: AdapterModel, dataset: TokenizedDataset, config: TrainingConfig, padId: Int32, group: ProcessGroup, step: Int
    ) throws -> (
        evaluation: ClassificationMetrics?, taskEvaluation: TaskMetrics?, fields: [(key: String, value: String)], loss: Float,
        rate: Double, value: Float, event: TrainingEvent
    ) {
        if model.head.isSingleLabel {
            let metrics = try evaluateWithPredictions(
                model: model, dataset: dataset, batchSize: config.evalBatchSize, padId: padId, maxLength: config.maxLength,
                group: group
            ).metrics
            return (
                metrics, nil, [("accuracy", "\(metrics.accuracy)"), ("macro_f1", "\(metrics.macroF1)")], metrics.loss,
                metrics.samplesPerSecond ?? 0, metrics.accuracy, .evaluated(step: step, metrics: metrics)
            )
        }
        let metrics = try evaluateTask(
            model: model, dataset: dataset, batchSize: config.evalBatchSize, padId: padId, maxLength: config.maxLength,
            group: group
        ).metrics
        return (
            nil, metrics, metrics.values.keys.sorted().map { ($0, "\(metrics.values[$0] ?? 0)") }, metrics.loss,
            metrics.samplesPerSecond ?? 0, Float(metrics.primaryValue), .evaluatedTask(step: step, metrics: metrics)
        )
    }

    /// Each model's gradients of its mean loss over the global batch `indices` (summed over the process
    /// group) in its parameters, and those losses.
    private func computeGradients(global indices: [Int], step: Int) throws -> [Float] {
        try Self.gradients(
            models, group: group, accumulation: gradientAccumulationSteps, total: indices.count,
            seed: CounterRNG.hash(seed: config.seed, index: UInt64(step)), step: step
        ) {
            let padded = train.batch(Array(indices[$0]), padId: padId, padding: config.padding, maxLength: config.maxLength)
            return (try TokenBatch(padded), padded.targets)
        }
    }

    /// One step's gradients of models trained together (`DataParallelStep` for each, on the same batch): each
    /// model's in its own parameters — the gradient of the summed loss, since no tensor is shared — and each
    /// model's loss. The first model's dropout follows `seed` (as when it trains alone), the others' streams
    /// are derived from it, so no two branches drop the same units.
    public static func gradients(
        _ models: [AdapterModel], group: ProcessGroup = SingleProcess(), accumulation: Int = 1, total: Int, seed: UInt64,
        step: Int, batch: (Range<Int>) throws -> (TokenBatch, HeadTargets)
    ) throws -> [Float] {
        try models.enumerated().map { k, model in
            let branchSeed = k == 0 ? seed : CounterRNG.hash(seed: seed, index: UInt64(k))
            return try DataParallelStep(model: model, group: group, accumulation: accumulation)
                .run(total: total, seed: branchSeed, step: step, batch: batch).loss
        }
    }

    /// Every process must start from the same trainable values, data and settings: a process with
    /// another model, data file or flags would silently train something else.
    private func checkSameStart() throws {
        guard group.size > 1 else { return }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) { hash = (hash ^ v) &* 0x100_0000_01b3 }
        for e in models.flatMap(\.parameters.entries) {
            for i in 0..<e.count { mix(UInt64(e.value[i].bitPattern)) }
        }
        var settings: UInt64 = 0xcbf2_9ce4_8422_2325
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for byte in (try? encoder.encode(config)) ?? Data() { settings = (settings ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var data: UInt64 = UInt64(train.count)
        for i in [0, train.count / 2, train.count - 1] where i >= 0 && i < train.count {
            for t in train.batch([i], padId: padId, padding: .longest, maxLength: config.maxLength).inputIds {
                data = (data ^ UInt64(UInt32(bitPattern: t))) &* 0x100_0000_01b3
            }
        }
        let seen = try group.minMax([hash, settings, data], "checking that every process starts alike")
        for (k, what) in ["trainable values", "training settings", "training data"].enumerated() where seen.min[k] != seen.max[k] {
            throw TrainingError.distributed(
                "the processes start with different \(what): run every process with the same model, data and flags")
        }
    }

    /// Deletes old checkpoints beyond `keepCheckpoints`, never the best one.
    private func prune(keeping best: Int?) throws {
        let all = Checkpoint.list(output)
        let keep = Set(all.suffix(config.keepCheckpoints).map(\.step) + (best.map { [$0] } ?? []))
        for c in all where !keep.contains(c.step) {
            try? Checkpoint.discard(c.url)
        }
    }

    /// Loss, accuracy and macro-F1 over a dataset, without dropout, for any classifier (a trained
    /// adapter and head, or an HF checkpoint's own head).
    public static func evaluate(
        model: SequenceClassifier, dataset: TokenizedDataset, batchSize: Int, padId: Int32, maxLength: Int?
    ) throws -> ClassificationMetrics {
        try evaluateWithPredictions(model: model, dataset: dataset, batchSize: batchSize, padId: padId, maxLength: maxLength)
            .metrics
    }

    /// `evaluate`, also returning each example's predicted class (in dataset order), for per-example
    /// statistics such as paired tests between two classifiers and confusion matrices.
    ///
    /// With a process `group` each process evaluates its share of the examples and every process gets
    /// the whole set's metrics and predictions.
    public static func evaluateWithPredictions(
        model: SequenceClassifier, dataset: TokenizedDataset, batchSize: Int, padId: Int32, maxLength: Int?,
        group: ProcessGroup = SingleProcess()
    ) throws -> (metrics: ClassificationMetrics, predictions: [Int]) {
        let start = DispatchTime.now().uptimeNanoseconds
        var predictions: [Int] = []
        var lossSum = 0.0
        let n = model.classLabels.count
        let share = group.share(of: dataset.count)
        for lo in stride(from: share.lowerBound, to: share.upperBound, by: max(1, batchSize)) {
            let indices = Array(lo..<min(share.upperBound, lo + batchSize))
            let padded = dataset.batch(indices, padId: padId, padding: .longest, maxLength: maxLength)
            let logits = try model.classLogits(try TokenBatch(padded))
            let loss = padded.labels.withUnsafeBufferPointer { lp in
                CrossEntropy.forwardBackward(logits: logits, labels: lp.baseAddress!, batch: padded.batchSize, classes: n, dlogits: nil)
            }
            lossSum += Double(loss) * Double(padded.batchSize)
            for b in 0..<padded.batchSize {
                var best = 0
                for j in 1..<n where logits[b * n + j] > logits[b * n + best] { best = j }
                predictions.append(best)
            }
        }
        if group.size > 1 {
            // Each process fills its share's slots; the sum over processes is every prediction.
            var gathered = [Double](repeating: 0, count: dataset.count + 1)
            for (k, p) in predictions.enumerated() { gathered[share.lowerBound + k] = Double(p) }
            gathered[dataset.count] = lossSum
            try group.sum(&gathered, "gathering the evaluation")
            predictions = gathered.prefix(dataset.count).map { Int($0) }
            lossSum = gathered[dataset.count]
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let metrics = ClassificationMetrics(
            loss: Float(lossSum / Double(max(1, dataset.count))), predictions: predictions, labels: dataset.labels.map { Int($0) },
            classes: n, samplesPerSecond: Double(dataset.count) / max(seconds, 1e-9))
        return (metrics, predictions)
    }
}

extension PaddedBatch {
    /// What the head's loss compares with: token labels (tagging), real values (regression, multi-label) or
    /// class ids.
    public var targets: HeadTargets {
        if let tokenLabels { return .tokenClasses(tokenLabels) }
        if let spans { return .spans(spans) }
        if let values { return .values(values) }
        return .classes(labels)
    }
}

extension TokenBatch {
    /// The model input of a padded dataset batch.
    public init(_ padded: PaddedBatch) throws {
        try self.init(
            batchSize: padded.batchSize, sequenceLength: padded.sequenceLength, inputIds: padded.inputIds,
            attentionMask: padded.attentionMask, tokenTypeIds: padded.tokenTypeIds)
    }
}

/// Append-only JSON-lines log, flushed line by line.
final class LogFile {
    private let handle: FileHandle
    let url: URL

    init(_ url: URL, truncate: Bool) throws {
        self.url = url
        let fm = FileManager.default
        if truncate || !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw TrainingError.output(path: url.path, detail: "cannot create the log file")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw TrainingError.output(path: url.path, detail: "cannot open the log file: \(error.localizedDescription)")
        }
    }

    deinit { try? handle.close() }

    func write(_ line: String) throws {
        do {
            try handle.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            throw TrainingError.output(path: url.path, detail: "cannot write the log: \(error.localizedDescription)")
        }
    }
}
