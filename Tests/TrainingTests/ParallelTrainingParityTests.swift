import Adapters
import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing
import Training

/// Training a Parallel against adapters 1.3.0's `train_adapter(Parallel("a", "b"))` (fixtures from
/// tools/make_parallel_training_fixtures.py, dropout off): each branch's logits at init, the summed loss and each
/// branch's, every gradient at steps 0 and 2, the joint gradient norm, and every tensor after 3 AdamW steps with one
/// schedule — driven through `Trainer.gradients`, the joint `GradientClipping.clip` and one `AdamW`, as `Trainer`
/// runs them. Tolerances as in `ReferenceParityTests`.
@Suite("Parallel training parity with the adapters library")
struct ParallelTrainingParityTests {
    typealias Reference = ReferenceParityTests

    static func branches(_ name: String) throws -> (json: [String: Any], models: [AdapterModel], folder: URL) {
        let (folder, json, base) = try Reference.caseBase(name)
        let id2label = json["id2label"] as? [String: String] ?? [:]
        let labels = (0..<id2label.count).map { id2label[String($0)] ?? "" }
        let initial = try SafetensorsFile(path: folder.appendingPathComponent("init.safetensors").path)
        var models: [AdapterModel] = []
        for branch in json["branches"] as? [[String: Any]] ?? [] {
            let adapter = branch["name"] as? String ?? ""
            let adapterConfig = try AdapterConfig.decode(
                dictionary: branch["adapter_config"] as? [String: Any] ?? [:], source: "\(name)/case.json")
            let model = try AdapterModel(
                base: base, mode: .adapter(name: adapter, config: adapterConfig),
                head: HeadSpec(
                    name: adapter, labels: labels, dropout: 0,
                    config: try Reference.headConfig(["head": branch["head"] ?? [:]])))
            for tensor in model.trainableNames { try model.setTensor(tensor, Reference.read(initial, tensor)) }
            models.append(model)
        }
        #expect(models.count == 2)
        #expect(
            Set(initial.tensorNames) == Set(models.flatMap(\.trainableNames)),
            "trainable tensors differ from the reference's")
        return (json, models, folder)
    }

    /// Every tensor of `file` against the model (of several) that holds it.
    static func gradientMismatches(_ models: [AdapterModel], _ file: SafetensorsFile, label: String) throws -> [String]
    {
        var bad: [String] = []
        for tensor in file.tensorNames {
            guard let ours = models.lazy.compactMap({ $0.gradient(tensor) }).first else {
                bad.append("\(tensor): not trainable here")
                continue
            }
            if let m = Reference.relativeMismatch("\(label) grad \(tensor)", ours, try Reference.read(file, tensor)) {
                bad.append(m)
            }
        }
        return bad
    }

    @Test(arguments: ["roberta_parallel", "bert_parallel"])
    func gradientsAndThreeStepsMatch(name: String) throws {
        let (json, models, folder) = try Self.branches(name)
        let frozen = models[0].base.weights.arena.checksum()
        let logits0 = try Fixtures.json("training/\(name)/logits0.json")
        let (batch0, _) = try Reference.batch(json, 0)
        for model in models {
            let reference = (logits0[model.head.name] as? [Any] ?? []).flatMap(floats)
            #expect(Reference.mismatches("logits of \(model.head.name)", try model.logits(batch0), reference).isEmpty)
        }

        let opt = json["optimizer"] as? [String: Any] ?? [:]
        let betas = floats(opt["betas"])
        var adam = AdamW(
            beta1: betas[0], beta2: betas[1], epsilon: (opt["eps"] as? NSNumber)?.floatValue ?? 1e-8,
            weightDecay: (opt["weight_decay"] as? NSNumber)?.floatValue ?? 0)
        let decayNames = Set(json["decay_parameters"] as? [String] ?? [])
        for e in models.flatMap(\.parameters.entries) {
            #expect(e.decay == decayNames.contains(e.name), "decay flag of \(e.name)")
        }
        let schedule = json["schedule"] as? [String: Any] ?? [:]
        let losses = floats(json["losses"])
        let branchLosses = (json["branch_losses"] as? [Any] ?? []).map(floats)
        let norms = floats(json["grad_norms"])
        let lrs = floats(json["lrs"])
        let steps = json["steps"] as? Int ?? 0
        let initial = Dictionary(
            uniqueKeysWithValues: models.flatMap(\.trainableNames).map { n in
                (n, models.lazy.compactMap { $0.tensor(n) }.first ?? [])
            })
        for s in 0..<steps {
            let (batch, targets) = try Reference.batch(json, s)
            let perBranch = try Trainer.gradients(models, total: batch.batchSize, seed: UInt64(s), step: s) { _ in
                (batch, targets)
            }
            for (k, loss) in perBranch.enumerated() {
                #expect(
                    abs(loss - branchLosses[s][k]) <= 1e-5 + 1e-4 * abs(branchLosses[s][k]),
                    "branch \(k) loss at step \(s)")
            }
            let sum = perBranch.reduce(0, +)
            #expect(abs(sum - losses[s]) <= 1e-5 + 1e-4 * abs(losses[s]), "summed loss at step \(s)")
            if s == 0 || s == steps - 1 {
                let file = try SafetensorsFile(
                    path: folder.appendingPathComponent(s == 0 ? "grads.safetensors" : "grads_last.safetensors").path)
                let bad = try Self.gradientMismatches(models, file, label: "step \(s)")
                #expect(bad.isEmpty, "\(bad.prefix(8))")
            }
            let norm = GradientClipping.clip(
                models.map(\.parameters), maxNorm: (json["max_grad_norm"] as? NSNumber)?.floatValue ?? 1)
            #expect(
                abs(norm - norms[s]) <= 1e-5 + 1e-3 * norms[s], "joint grad norm at step \(s): \(norm) vs \(norms[s])")
            let lr =
                ((opt["lr"] as? NSNumber)?.floatValue ?? 0)
                * LearningRateSchedule.linear.factor(
                    step: s, warmupSteps: schedule["warmup_steps"] as? Int ?? 0,
                    totalSteps: schedule["total_steps"] as? Int ?? 0)
            #expect(abs(lr - lrs[s]) <= 1e-9 + 1e-6 * lrs[s])
            adam.update(models.map(\.parameters), learningRate: lr)
        }
        let after = try SafetensorsFile(path: folder.appendingPathComponent("after3.safetensors").path)
        var bad: [String] = []
        for tensor in after.tensorNames {
            let ours = models.lazy.compactMap { $0.tensor(tensor) }.first ?? []
            let reference = try Reference.read(after, tensor)
            let start = initial[tensor] ?? []
            bad += Reference.mismatches("param \(tensor)", ours, reference)
            let update = zip(ours, start).map { $0 - $1 }
            let referenceUpdate = zip(reference, start).map { $0 - $1 }
            if let m = Reference.relativeMismatch("update \(tensor)", update, referenceUpdate, rtol: 1e-3) {
                bad.append(m)
            }
        }
        #expect(bad.isEmpty, "\(bad.prefix(8))")
        #expect(models[0].base.weights.arena.checksum() == frozen, "the frozen base changed")
    }
}
