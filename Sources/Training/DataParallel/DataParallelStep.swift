import Datasets
import Encoders
import Foundation
import Kernels

/// One optimizer step's gradients under data parallelism: this process runs its parts of the global
/// batch (its share, in micro-batches), each sequence keyed by its place in the global batch, and the
/// process group sums the gradients — started group by group during the last part's backward pass.
public struct DataParallelStep {
    /// What a step did and where its time went.
    public struct Outcome: Sendable {
        /// The global batch's mean loss (summed over the group).
        public var loss: Float
        /// Seconds in this process's forward and backward passes.
        public var computeSeconds: Double
        /// Seconds waiting for the gradient sum after the backward pass: the communication the
        /// backward pass did not hide.
        public var waitSeconds: Double
    }

    public let model: AdapterModel
    public let group: ProcessGroup
    /// Micro-batches per process and step (gradient accumulation).
    public let accumulation: Int

    public init(model: AdapterModel, group: ProcessGroup, accumulation: Int = 1) {
        self.model = model
        self.group = group
        self.accumulation = max(1, accumulation)
    }

    /// This process's micro-batches of a global batch of `total` sequences: ranges of places in it.
    public func parts(of total: Int) -> [Range<Int>] {
        let share = group.share(of: total)
        return (0..<accumulation).compactMap { k in
            let lo = share.lowerBound + share.count * k / accumulation
            let hi = share.lowerBound + share.count * (k + 1) / accumulation
            return lo < hi ? lo..<hi : nil
        }
    }

    /// Zeroes the gradients, runs `batch(range)` — the token batch and targets of those places of the
    /// global batch — for each of this process's parts, and sums the gradients over the group. Every
    /// process must call it for the same step (it is collective).
    ///
    /// Parts are weighted by their sequences. For a tagging head, whose loss is a mean over labelled
    /// tokens, a split batch then weighs tokens slightly differently from the whole batch (as
    /// transformers' Trainer did before 4.46).
    public func run(
        total: Int, seed: UInt64, step: Int, batch: (Range<Int>) throws -> (TokenBatch, HeadTargets)
    ) throws -> Outcome {
        let reduction = group.size > 1 ? GradientReduction(group: group, model: model) : nil
        let mine = parts(of: total)
        model.parameters.zeroGradients()
        // AdapterHub's trainer adds the fusion regularization's gradient after each optimizer step, so that it
        // reaches the next update (one process adds it: the group sums the gradients).
        if step > 0 && group.rank == 0 { model.addFusionRegularizationGradient() }
        var lossSum = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        for (k, part) in mine.enumerated() {
            let (tokens, targets) = try batch(part)
            // A multiple-choice batch holds several sequences per example: each gets its own dropout stream.
            let perExample = max(1, tokens.batchSize / max(part.count, 1))
            let keys = part.flatMap { e in (0..<perExample).map { UInt64(e * perExample + $0) } }
            let result: AdapterModel.StepResult
            do {
                result = try model.step(
                    tokens, targets: targets, seed: seed, dropoutKeys: keys,
                    gradientScale: Float(part.count) / Float(total),
                    gradientsReady: k == mine.count - 1 ? reduction.map { r in { r.ready($0) } } : nil)
            } catch let error as EncoderError {
                throw TrainingError.diverged(step: step + 1, detail: error.description)
            }
            lossSum += Double(result.loss) * Double(part.count)
        }
        let computed = DispatchTime.now().uptimeNanoseconds
        if let reduction {
            var scalars = [lossSum]
            try reduction.finish(scalars: &scalars)
            lossSum = scalars[0]
        }
        let end = DispatchTime.now().uptimeNanoseconds
        return Outcome(
            loss: Float(lossSum / Double(max(total, 1))), computeSeconds: Double(computed - start) / 1e9,
            waitSeconds: Double(end - computed) / 1e9)
    }
}
