import Adapters
import Datasets
import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing
import Training

@Suite("Trainer", .serialized)
struct TrainerTests {
    /// The tiny RoBERTa of the training fixtures, with dropout on, and a seq_bn adapter.
    static func model(method: AdapterMethod? = .seqBn, dropout: Float = 0.1) throws -> AdapterModel {
        let base = try AdapterInteropTests.base(dropout: dropout)
        let model = try AdapterModel(
            base: base, mode: method.map { .adapter(name: "task", config: .defaults(for: $0)) } ?? .full,
            head: HeadSpec(name: "task", labels: ["neg", "pos"], dropout: dropout))
        model.initializeTrainable(seed: 5)
        return model
    }

    /// 40 random sequences whose label is whether token 7 occurs: learnable.
    static func dataset(count: Int = 40, seed: UInt64 = 1) -> TokenizedDataset {
        var rng = SeededGenerator(seed: seed)
        var ids: [[Int32]] = []
        var labels: [Int32] = []
        for _ in 0..<count {
            let n = Int.random(in: 4...12, using: &rng)
            var s: [Int32] = [0] + (0..<n).map { _ in Int32.random(in: 8..<100, using: &rng) } + [2]
            let positive = Bool.random(using: &rng)
            if positive { s[Int.random(in: 1...n, using: &rng)] = 7 }
            ids.append(s)
            labels.append(positive ? 1 : 0)
        }
        return TokenizedDataset(ids: ids, labels: labels, maxLength: 16)
    }

    static func config(steps: Int) -> TrainingConfig {
        var c = TrainingConfig()
        c.batchSize = 8
        c.maxSteps = steps
        c.learningRate = 3e-3
        c.warmupSteps = 2
        c.weightDecay = 0.01
        c.saveEvery = 3
        c.logEvery = 2
        c.evalEvery = 4
        return c
    }

    @Test func resumeContinuesTheSameTrajectory() throws {
        let root = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = Self.dataset()
        // Uninterrupted.
        let a = try Self.model()
        let trainerA = try Trainer(model: a, train: data, eval: data, config: Self.config(steps: 8), padId: 1, output: root.appendingPathComponent("a"))
        _ = try trainerA.run()
        // Killed at step 5 (last checkpoint: step 3), then resumed by a fresh process' worth of state.
        let outB = root.appendingPathComponent("b")
        let b1 = try Self.model()
        let trainerB1 = try Trainer(model: b1, train: data, eval: data, config: Self.config(steps: 8), padId: 1, output: outB)
        trainerB1.observer = { event in
            if case .step(let step, _, _, _, _, _) = event { return step < 5 }
            return true
        }
        let partial = try trainerB1.run()
        #expect(partial.steps == 5)
        #expect(Checkpoint.list(outB).map(\.step) == [3])
        let b2 = try Self.model()
        b2.initializeTrainable(seed: 99)  // whatever it starts from, the checkpoint decides
        let resumed = try Trainer(model: b2, train: data, eval: data, config: Self.config(steps: 8), padId: 1, output: outB).run(resume: true)
        #expect(resumed.steps == 8)
        // seq_bn in each of the 2 layers (down and up, weight and bias) and the head's 4 tensors.
        #expect(a.trainableNames.count == 12, "\(a.trainableNames)")
        #expect(b2.trainableNames == a.trainableNames)
        for name in a.trainableNames {
            #expect(a.tensor(name) == b2.tensor(name), "\(name) differs after resuming")
        }
        // The log continues rather than restarting.
        let log = try String(contentsOf: outB.appendingPathComponent("train_log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"step\":8"))
        #expect(log.contains("eval_accuracy"))
    }

    /// LoReFT's orthogonal `base` is a buffer (saved, not trained): a checkpoint carries it, so a run resumed into a
    /// model drawn with another seed (another base) continues the same trajectory.
    @Test func resumeRestoresBuffers() throws {
        let root = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = Self.dataset()
        let a = try Self.model(method: .loreft)
        #expect(!a.bufferSlots.isEmpty)
        _ = try Trainer(model: a, train: data, eval: data, config: Self.config(steps: 6), padId: 1, output: root.appendingPathComponent("a")).run()
        let outB = root.appendingPathComponent("b")
        let b1 = try Self.model(method: .loreft)
        let trainerB1 = try Trainer(model: b1, train: data, eval: data, config: Self.config(steps: 6), padId: 1, output: outB)
        trainerB1.observer = { event in
            if case .step(let step, _, _, _, _, _) = event { return step < 4 }
            return true
        }
        _ = try trainerB1.run()
        let b2 = try Self.model(method: .loreft)
        b2.initializeTrainable(seed: 99)
        #expect(b2.tensor(a.bufferSlots[0].name) != a.tensor(a.bufferSlots[0].name))
        _ = try Trainer(model: b2, train: data, eval: data, config: Self.config(steps: 6), padId: 1, output: outB).run(resume: true)
        for entry in a.savedEntries {
            #expect(a.tensor(entry.name) == b2.tensor(entry.name), "\(entry.name) differs after resuming")
        }
    }

    @Test func learnsASimpleRule() throws {
        let root = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let train = Self.dataset(count: 160, seed: 2)
        let test = Self.dataset(count: 60, seed: 3)
        // Full fine-tuning: a frozen random 2-layer base gives an adapter too little to work with.
        let model = try Self.model(method: nil, dropout: 0)
        var config = Self.config(steps: 120)
        config.saveEvery = nil
        config.evalEvery = nil
        config.learningRate = 2e-3
        let before = try Trainer.evaluate(model: model, dataset: test, batchSize: 32, padId: 1, maxLength: 16)
        let summary = try Trainer(model: model, train: train, eval: test, config: config, padId: 1, output: root).run()
        let after = try #require(summary.evaluation)
        #expect(after.loss < before.loss)
        #expect(after.accuracy >= 0.8, "accuracy \(after.accuracy)")
    }

    @Test func badConfigurationsAndOutputs() throws {
        let data = Self.dataset()
        var c = Self.config(steps: 2)
        c.learningRate = -1
        #expect(throws: TrainingError.invalidConfiguration("learning rate must be positive")) {
            try Trainer(model: try Self.model(), train: data, eval: nil, config: c, padId: 1, output: URL(fileURLWithPath: "/tmp"))
        }
        #expect(throws: TrainingError.invalidConfiguration("the training set is empty")) {
            try Trainer(model: try Self.model(), train: TokenizedDataset(ids: [], labels: []), eval: nil, config: Self.config(steps: 2), padId: 1, output: URL(fileURLWithPath: "/tmp"))
        }
        // An output path below a regular file cannot be created; the error names that path.
        let root = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("file")
        try Data("x".utf8).write(to: file)
        let below = file.appendingPathComponent("out")
        let trainer = try Trainer(model: try Self.model(), train: data, eval: nil, config: Self.config(steps: 2), padId: 1, output: below)
        let outputError = #expect(throws: TrainingError.self) { try trainer.run() }
        guard case .output(let path, let detail) = outputError else {
            Issue.record("expected an output error, got \(String(describing: outputError))")
            return
        }
        #expect(path == below.path)
        #expect(detail.hasPrefix("cannot create the output folder"), "\(detail)")
        // A diverging run stops with a clear error and keeps its last checkpoints (one a step here).
        var hot = Self.config(steps: 12)
        hot.learningRate = 1e30
        hot.maxGradNorm = 0
        hot.saveEvery = 1
        let out = root.appendingPathComponent("hot")
        let divergence = #expect(throws: TrainingError.self, "a learning rate of 1e30 did not diverge") {
            _ = try Trainer(model: try Self.model(), train: data, eval: nil, config: hot, padId: 1, output: out).run()
        }
        guard case .diverged(let step, let detail) = divergence else {
            Issue.record("expected diverged, got \(String(describing: divergence))")
            return
        }
        // Step 1 runs at lr 0 (warm-up), step 2 at 5e29: step 3's loss is NaN.
        #expect(step == 3, "\(detail)")
        #expect(detail.contains("the loss is nan (not finite)"), "\(detail)")
        let kept = Checkpoint.list(out)
        #expect(kept.map(\.step) == [step - 2, step - 1])  // keepCheckpoints = 2, up to the last good step
        for c in kept {
            #expect(FileManager.default.fileExists(atPath: c.url.appendingPathComponent("trainer_state.json").path))
        }
        // The last one is intact: it loads, at the step before the divergence.
        let last = try #require(kept.last)
        let state = try Checkpoint.load(last.url, into: try Self.model())
        #expect(state.step == step - 1)
    }
}
