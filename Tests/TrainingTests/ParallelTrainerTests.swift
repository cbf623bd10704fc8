import Adapters
import Datasets
import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing
import Training

/// `Trainer(models:)` over a Parallel's branches (`ModelWithAdapters.trainParallel`): the loop around the step that
/// `ParallelTrainingParityTests` checks against adapters 1.3.0 — one sampler, logs and evaluations per head,
/// checkpoints of every branch, resuming, and the values read back into the library model.
@Suite("Parallel training", .serialized)
struct ParallelTrainerTests {
    /// A seq_bn adapter "a" and a LoRA "b" (which adapters 1.3.0 cannot train in one Parallel), each with its head.
    static func library(dropout: Float) throws -> ModelWithAdapters {
        let model = ModelWithAdapters(base: try AdapterInteropTests.base(dropout: dropout))
        try model.addAdapter("a", config: .bottleneck(.seqBn), seed: 3)
        try model.addAdapter("b", config: .defaults(for: .lora), seed: 4)
        try model.addClassificationHead("a", labels: ["neg", "pos"], seed: 5)
        try model.addClassificationHead("b", labels: ["neg", "pos"], seed: 6)
        return model
    }

    /// With clipping off and no dropout the branches' updates are independent: each ends bit-identical to its
    /// adapter trained alone on the same batches. The trained values are what `saveAdapter` writes.
    @Test func branchesTrainAsTheyWouldAloneWithoutClipping() throws {
        let root = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = TrainerTests.dataset()
        var config = TrainerTests.config(steps: 8)
        config.maxGradNorm = 0
        let parallel = try Self.library(dropout: 0)
        try parallel.trainParallel(["a", "b"])
        #expect(parallel.summary().map(\.training) == [true, true])
        let models = try parallel.parallelTrainingModels()
        #expect(models.map(\.head.name) == ["a", "b"])
        #expect(
            try parallel.parallelTrainingModels().map { ObjectIdentifier($0) } == models.map { ObjectIdentifier($0) })
        let summary = try Trainer(
            models: models, train: data, eval: data, config: config, padId: 1, output: root.appendingPathComponent("p")
        )
        .run()
        #expect(summary.branchEvaluations.map(\.head) == ["a", "b"])
        #expect(summary.branchEvaluations.allSatisfy { $0.evaluation != nil })
        let log = try String(contentsOf: root.appendingPathComponent("p/train_log.jsonl"), encoding: .utf8)
        #expect(
            log.contains("\"eval_a_accuracy\"") && log.contains("\"eval_b_macro_f1\"")
                && log.contains("\"eval_b_loss\""))

        for name in ["a", "b"] {
            let alone = try Self.library(dropout: 0)
            try alone.trainAdapter(AdapterSetup([name]))
            let single = try alone.trainingModel()
            _ = try Trainer(
                model: single, train: data, eval: nil, config: config, padId: 1,
                output: root.appendingPathComponent(name)
            ).run()
            let branch = models[name == "a" ? 0 : 1]
            #expect(!single.trainableNames.isEmpty && single.trainableNames == branch.trainableNames)
            for tensor in single.trainableNames {
                #expect(single.tensor(tensor) == branch.tensor(tensor), "\(tensor) differs from training \(name) alone")
            }
        }

        // What the branches learnt is what the library model saves, and loads back with the same logits.
        let (batch, _) = try ReferenceParityTests.batch(try Fixtures.json("training/roberta_parallel/case.json"), 0)
        for (k, name) in ["a", "b"].enumerated() {
            let folder = root.appendingPathComponent("saved-\(name)")
            try parallel.saveAdapter(to: folder, name: name)
            let fresh = ModelWithAdapters(base: try AdapterInteropTests.base(dropout: 0))
            let loaded = try fresh.loadAdapter(from: folder, setActive: true)
            #expect(loaded == name)
            let reference = try models[k].logits(batch)
            let ours = try fresh.logits(batch)
            #expect(zip(ours, reference).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(name): \(ours) vs \(reference)")
        }
    }

    /// Killed mid-run and resumed, a Parallel continues on the trajectory of the uninterrupted run (dropout on,
    /// joint clipping on): every branch's tensors and optimizer state travel in one checkpoint.
    @Test func resumeContinuesTheSameTrajectory() throws {
        let root = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = TrainerTests.dataset()
        let config = TrainerTests.config(steps: 8)
        let whole = try Self.library(dropout: 0.1)
        try whole.trainParallel(["a", "b"])
        let a = try whole.parallelTrainingModels()
        _ = try Trainer(
            models: a, train: data, eval: data, config: config, padId: 1, output: root.appendingPathComponent("a")
        ).run()

        let out = root.appendingPathComponent("b")
        let first = try Self.library(dropout: 0.1)
        try first.trainParallel(["a", "b"])
        let killed = try Trainer(
            models: try first.parallelTrainingModels(), train: data, eval: data, config: config, padId: 1, output: out)
        killed.observer = { event in
            if case .step(let step, _, _, _, _, _) = event { return step < 5 }
            return true
        }
        #expect(try killed.run().steps == 5)
        #expect(Checkpoint.list(out).map(\.step) == [3])
        let second = try Self.library(dropout: 0.1)
        try second.addAdapter("b", config: .defaults(for: .lora), seed: 77, overwrite: true)  // the checkpoint decides
        try second.trainParallel(["a", "b"])
        let b = try second.parallelTrainingModels()
        #expect(
            try Trainer(models: b, train: data, eval: data, config: config, padId: 1, output: out).run(resume: true)
                .steps == 8)
        for (x, y) in zip(a, b) {
            for tensor in x.trainableNames {
                #expect(x.tensor(tensor) == y.tensor(tensor), "\(tensor) differs after resuming")
            }
        }
        // A checkpoint of the Parallel does not fit one of its branches alone.
        let alone = try Self.library(dropout: 0.1)
        try alone.trainAdapter(AdapterSetup(["a"]))
        #expect(throws: TrainingError.self) {
            _ = try Checkpoint.load(try #require(Checkpoint.list(out).last).url, into: try alone.trainingModel())
        }
    }

    @Test func badSetupsAreRefused() throws {
        let model = try Self.library(dropout: 0)
        #expect(throws: AdapterError.invalidSetup("Parallel needs at least 2 adapters to train, got 1")) {
            try model.trainParallel(["a"])
        }
        #expect(throws: AdapterError.unknownAdapter("c")) { try model.trainParallel(["a", "c"]) }
        #expect(throws: AdapterError.self) { try model.trainParallel(["a", "a"]) }
        try model.addAdapter("c", config: .bottleneck(.seqBn))
        #expect(throws: AdapterError.self) { try model.trainParallel(["a", "c"]) }  // no head "c"
        #expect(throws: AdapterError.self) { _ = try model.parallelTrainingModels() }  // trainParallel not called
        try model.trainParallel(["a", "b"])
        #expect(throws: AdapterError.self) { _ = try model.trainingModel() }
        try model.deleteHead("b")
        #expect(model.trainingBranches == nil)

        // Trainer(models:): heads of other labels, and two models holding the same tensors.
        let data = TrainerTests.dataset()
        let out = URL(fileURLWithPath: NSTemporaryDirectory())
        try model.addHead("c", config: HeadConfig(type: .classification), labels: ["x", "y", "z"])
        try model.trainParallel(["a", "c"])
        let mismatched = try model.parallelTrainingModels()
        #expect(throws: TrainingError.self) {
            _ = try Trainer(
                models: mismatched, train: data, eval: nil, config: TrainerTests.config(steps: 2), padId: 1, output: out
            )
        }
        let twins = [try TrainerTests.model(), try TrainerTests.model()]
        #expect {
            _ = try Trainer(
                models: twins, train: data, eval: nil, config: TrainerTests.config(steps: 2), padId: 1, output: out)
        } throws: { error in
            "\(error)".contains("both hold the tensor")
        }
    }
}
