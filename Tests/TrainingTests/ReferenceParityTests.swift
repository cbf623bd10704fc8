import Adapters
import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing
import Training

/// llm.c-style parity with the Python `adapters` library (fixtures from
/// tools/make_training_fixtures.py: torch 2.13.0, transformers 4.57.6, adapters 1.3.0, dropout off):
/// logits at init, the loss and every trainable gradient at step 0, the clipped global norm, the
/// learning rates and the parameters after 3 AdamW steps with a linear warm-up schedule.
///
/// Every weight of the fixtures is drawn at unit scale, so each trainable gradient has an RMS of at least
/// 1e-3 (the script asserts it). Gradients are compared per tensor against the tensor's own norm:
/// ‖ours − ref‖ ≤ 1e-4·‖ref‖ (+ a float-noise floor of 1e-7·√n) — a zeroed tensor, one scaled by 2 or one
/// layer's residual left out all fail. Parameters after the steps: per element within 1e-3 relative / 1e-5
/// absolute, and each tensor's total update within 1e-3 of the reference's update (Adam normalises a
/// gradient's scale away, which is why the step-0 and last-step gradients are checked themselves).
@Suite("Parity with the adapters library")
struct ReferenceParityTests {
    static let cases = [
        "roberta_seq_bn", "roberta_double_seq_bn", "roberta_lora", "roberta_full",
        "bert_seq_bn", "bert_double_seq_bn", "bert_lora", "bert_full",
        "roberta_par_bn", "roberta_scaled_par_bn", "roberta_ia3", "roberta_lora_ffn",
        "bert_par_bn", "bert_scaled_par_bn", "bert_ia3", "bert_lora_ffn",
        "roberta_compacter", "roberta_compacter_pp", "bert_compacter", "bert_compacter_pp",
        "roberta_seq_bn_inv", "roberta_double_seq_bn_inv", "bert_seq_bn_inv", "bert_double_seq_bn_inv",
        "roberta_union_lora_seq_bn", "roberta_union_two_bn", "bert_union_lora_seq_bn", "bert_union_two_bn",
        "roberta_prompt_tuning", "roberta_prompt_tuning_bos", "bert_prompt_tuning", "bert_prompt_tuning_bos",
        "roberta_dora", "roberta_dora_ffn", "bert_dora", "bert_dora_ffn",
        "roberta_prefix_tuning", "roberta_prefix_tuning_flat", "roberta_mam", "bert_prefix_tuning", "bert_prefix_tuning_flat",
        "bert_mam", "roberta_unipelt", "roberta_gating", "bert_unipelt", "bert_gating",
        "roberta_loreft", "roberta_noreft_tied", "roberta_direft", "bert_loreft", "bert_noreft_tied", "bert_direft",
        "roberta_vera", "bert_vera", "roberta_adapterplus", "bert_adapterplus",
        "roberta_dvora", "bert_dvora",
        // Prediction heads (issue #19): multi-label, regression, tagging (1 and 2 layers, full fine-tuning), 3 layers.
        "roberta_multilabel", "roberta_regression", "roberta_tagging", "roberta_tagging_2l_gelu", "roberta_head_3l_relu",
        "roberta_full_tagging", "bert_multilabel", "bert_regression", "bert_tagging", "bert_tagging_2l_gelu",
        "bert_head_3l_relu", "bert_full_tagging", "roberta_multiple_choice", "bert_multiple_choice",
        "roberta_question_answering", "bert_question_answering",
        // AdapterFusion: the fusion layers and head trained over two frozen seq_bn adapters.
        "roberta_fusion_dynamic", "roberta_fusion_flags", "bert_fusion_dynamic", "bert_fusion_flags", "roberta_fusion_double",
        "bert_fusion_double",
        // train_adapter_fusion(Stack("lang", Fuse("a", "b"))): the fusion over a frozen language adapter.
        "roberta_fusion_stacked", "bert_fusion_stacked", "roberta_fusion_stacked_double", "bert_fusion_stacked_double",
    ]

    struct Case {
        let json: [String: Any]
        let model: AdapterModel
        let folder: URL
    }

    /// A case's folder, its case.json and the frozen base it names.
    static func caseBase(_ name: String) throws -> (folder: URL, json: [String: Any], base: EncoderModel) {
        let folder = Fixtures.url("training/\(name)")
        let json = try Fixtures.json("training/\(name)/case.json")
        let baseFolder = folder.appendingPathComponent(json["base"] as? String ?? "").standardizedFileURL
        let configPath = baseFolder.appendingPathComponent("config.json").path
        let config = try EncoderConfig.decode(try Data(contentsOf: URL(fileURLWithPath: configPath)), path: configPath)
        let weights = baseFolder.appendingPathComponent("model.safetensors").path
        return (folder, json, try EncoderModel.load(config: config, source: try SafetensorsFile(path: weights), sourceName: weights))
    }

    static func load(_ name: String) throws -> Case {
        let (folder, json, base) = try caseBase(name)
        let method = json["method"] as? String ?? ""
        let mode: TrainingMode
        if method == "full" || method.hasPrefix("full_") {
            mode = .full
        } else if method == "fusion" {
            let fusion = json["fusion"] as? [String: Any] ?? [:]
            func named(_ list: Any?) throws -> [NamedAdapter] {
                try (list as? [[String: Any]] ?? []).map {
                    NamedAdapter(
                        name: $0["name"] as? String ?? "",
                        config: try AdapterConfig.decode(dictionary: $0["config"] as? [String: Any] ?? [:], source: "\(name)/case.json"))
                }
            }
            let adapters = try named(fusion["adapters"])
            let fusionConfig = try FusionConfig.decode(fusion["config"], source: "\(name)/case.json")
            let before = try named(fusion["stack_before"])
            mode =
                before.isEmpty
                ? .fuse(adapters, fusion: fusionConfig)
                : .composed(before.map { .single($0) } + [.fuse(adapters, fusion: fusionConfig)])
        } else {
            let adapterConfig = try AdapterConfig.decode(
                dictionary: json["adapter_config"] as? [String: Any] ?? [:], source: "\(name)/case.json")
            mode = .adapter(name: json["adapter_name"] as? String ?? "task", config: adapterConfig)
        }
        let id2label = json["id2label"] as? [String: String] ?? [:]
        let labels = (0..<id2label.count).map { id2label[String($0)] ?? "" }
        let model = try AdapterModel(
            base: base, mode: mode,
            head: HeadSpec(name: json["head_name"] as? String ?? "task", labels: labels, dropout: 0, config: try headConfig(json)))
        let initial = try SafetensorsFile(path: folder.appendingPathComponent("init.safetensors").path)
        #expect(Set(initial.tensorNames) == Set(model.trainableNames), "trainable tensors differ from the reference's")
        for name in initial.tensorNames {
            try model.setTensor(name, read(initial, name))
        }
        // Tensors saved but not trained (PyTorch buffers: LoReFT's orthogonal base).
        let buffers = folder.appendingPathComponent("buffers.safetensors")
        if FileManager.default.fileExists(atPath: buffers.path) {
            let held = try SafetensorsFile(path: buffers.path)
            #expect(Set(held.tensorNames) == Set(model.bufferSlots.map(\.name)), "buffers differ from the reference's")
            for name in held.tensorNames { try model.setTensor(name, read(held, name)) }
        } else {
            #expect(model.bufferSlots.isEmpty, "the model has buffers the reference does not")
        }
        return Case(json: json, model: model, folder: folder)
    }

    /// The head's type, layers and activation from case.json (`head.config`: AdapterHub's head config); the default
    /// classification head for the cases written before heads had a config there.
    static func headConfig(_ json: [String: Any]) throws -> HeadConfig {
        let head = json["head"] as? [String: Any] ?? [:]
        guard let inner = head["config"] as? [String: Any] else { return HeadConfig(type: .classification) }
        let type = try #require(HeadType(rawValue: inner["head_type"] as? String ?? ""))
        let activation = try #require(AdapterActivation(rawValue: inner["activation_function"] as? String ?? ""))
        return HeadConfig(type: type, layers: inner["layers"] as? Int, activation: activation)
    }

    static func read(_ file: SafetensorsFile, _ name: String) throws -> [Float] {
        #expect(file.shape(of: name) != nil, "\(name) is not in \(file)")
        var out = [Float](repeating: 0, count: file.shape(of: name)?.reduce(1, *) ?? 0)
        try out.withUnsafeMutableBufferPointer { try file.readFloats(name, into: $0.baseAddress!) }
        return out
    }

    static func batch(_ json: [String: Any], _ index: Int) throws -> (TokenBatch, HeadTargets) {
        let batches = json["batches"] as? [[String: Any]] ?? []
        let b = batches[index]
        let ids = (b["input_ids"] as? [Any] ?? []).map(int32s)
        let mask = (b["attention_mask"] as? [Any] ?? []).map(int32s)
        let types = (b["token_type_ids"] as? [Any])?.map(int32s)
        let t = ids.first?.count ?? 0
        return (
            try TokenBatch(
                batchSize: ids.count, sequenceLength: t, inputIds: ids.flatMap { $0 }, attentionMask: mask.flatMap { $0 },
                tokenTypeIds: types?.flatMap { $0 }),
            try targets(json, b["labels"])
        )
    }

    /// A batch's labels as the head's loss reads them (`head.kind` in case.json).
    static func targets(_ json: [String: Any], _ labels: Any?) throws -> HeadTargets {
        let kind = (json["head"] as? [String: Any])?["kind"] as? String ?? "classification"
        let rows = labels as? [Any] ?? []
        switch kind {
        case "classification", "multiple_choice": return .classes(int32s(labels))
        case "regression": return .values(floats(labels))
        case "multilabel": return .values(rows.flatMap(floats))
        case "tagging": return .tokenClasses(rows.flatMap(int32s))
        case "question_answering": return .spans(rows.flatMap(int32s))
        default:
            Issue.record("unknown head kind \(kind)")
            return .classes([])
        }
    }

    /// Elements outside relative 1e-3 and absolute 1e-5, as "name[i]: ours vs reference".
    static func mismatches(_ name: String, _ ours: [Float], _ reference: [Float]) -> [String] {
        guard ours.count == reference.count else { return ["\(name): \(ours.count) values vs \(reference.count)"] }
        var out: [String] = []
        for i in ours.indices where !(abs(ours[i] - reference[i]) <= max(1e-5, 1e-3 * abs(reference[i]))) {
            out.append("\(name)[\(i)]: \(ours[i]) vs \(reference[i])")
            if out.count > 3 { break }
        }
        return out
    }

    /// A tensor differing from the reference by more than `rtol` of the reference's norm (plus a float-noise
    /// floor of 1e-7·√n), as "name: ‖ours − ref‖ / ‖ref‖ = …"; nil when it agrees.
    static func relativeMismatch(_ name: String, _ ours: [Float], _ reference: [Float], rtol: Double = 1e-4) -> String? {
        guard ours.count == reference.count, !ours.isEmpty else { return "\(name): \(ours.count) values vs \(reference.count)" }
        var diff = 0.0
        var norm = 0.0
        for i in ours.indices {
            let d = Double(ours[i]) - Double(reference[i])
            diff += d * d
            norm += Double(reference[i]) * Double(reference[i])
        }
        let (d, r) = (diff.squareRoot(), norm.squareRoot())
        if d <= rtol * r + 1e-7 * Double(ours.count).squareRoot() { return nil }
        return "\(name): ‖ours − ref‖ / ‖ref‖ = \(d / max(r, .leastNonzeroMagnitude)) (‖ref‖ = \(r))"
    }

    /// Compares every tensor of a gradient file with this model's gradients. Tensors whose gradient is zero
    /// but for rounding (the key bias: softmax ignores a shift shared by all scores) must stay at float noise
    /// next to the whole gradient.
    static func gradientMismatches(_ model: AdapterModel, _ file: SafetensorsFile, zero: Set<String>, label: String) throws -> [String] {
        var bad: [String] = []
        var total = 0.0
        for e in model.parameters.entries {
            for i in 0..<e.count { total += Double(e.grad[i]) * Double(e.grad[i]) }
        }
        #expect(total.squareRoot() > 0.1, "\(label): the whole gradient is \(total.squareRoot())")
        for gname in file.tensorNames {
            guard let ours = model.gradient(gname) else {
                bad.append("\(gname): not trainable here")
                continue
            }
            if zero.contains(gname) {
                let norm = ours.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                if norm > 1e-6 * total.squareRoot() { bad.append("\(label) \(gname): \(norm), expected float noise") }
                continue
            }
            if let m = relativeMismatch("\(label) grad " + gname, ours, try Self.read(file, gname)) { bad.append(m) }
        }
        return bad
    }

    @Test(arguments: cases)
    func gradientsAndThreeStepsMatch(name: String) throws {
        let c = try Self.load(name)
        let model = c.model
        let json = c.json
        let frozenBefore = model.base.weights.arena.checksum()

        // Forward parity at init: the logits and the head's input (the last layer's first-token states).
        let forward = try Fixtures.json("training/\(name)/logits0.json")
        let logits0 = (forward["logits"] as? [Any] ?? []).flatMap(floats)
        let cls0 = (forward["cls_hidden"] as? [Any] ?? []).flatMap(floats)
        let (batch0, labels0) = try Self.batch(json, 0)
        let rows = model.head.config.readsEveryToken ? batch0.attentionMask.filter { $0 == 1 }.count : batch0.batchSize
        #expect(logits0.count == rows * model.head.outputWidth && cls0.count == 4 * model.config.hiddenSize)
        #expect(Self.mismatches("logits", try model.logits(batch0), logits0).isEmpty)
        let states = try model.lastHiddenState(batch0)
        // Packed states: the first token of each sequence starts after the previous sequences' tokens (and
        // prompt vectors, which prompt tuning adds to every sequence).
        let width = model.config.hiddenSize
        let adapterConfig = json["adapter_config"] as? [String: Any] ?? [:]
        let members = adapterConfig["configs"] as? [[String: Any]] ?? [adapterConfig]
        let promptLength = members.compactMap { $0["prompt_length"] as? Int }.first ?? 0
        var firstTokens: [Float] = []
        var row = 0
        for b in 0..<batch0.batchSize {
            firstTokens += states[row * width..<(row + 1) * width]
            row += promptLength
            row += (0..<batch0.sequenceLength).filter { batch0.attentionMask[b * batch0.sequenceLength + $0] == 1 }.count
        }
        #expect(Self.relativeMismatch("cls_hidden", firstTokens, cls0) == nil)

        // Every trainable gradient at step 0.
        let zero = Set(json["zero_gradient_parameters"] as? [String] ?? [])
        let grads = try SafetensorsFile(path: c0(c.folder, "grads.safetensors"))
        model.parameters.zeroGradients()
        let first = try model.step(batch0, targets: labels0, seed: 0)
        let losses = floats(json["losses"])
        #expect(abs(first.loss - losses[0]) <= 1e-5 + 1e-4 * abs(losses[0]))
        var bad = try Self.gradientMismatches(model, grads, zero: zero, label: "step 0")
        #expect(bad.isEmpty, "\(bad.prefix(8))")
        let initial = Dictionary(uniqueKeysWithValues: model.trainableNames.map { ($0, model.tensor($0) ?? []) })

        // Three optimizer steps: clip, schedule, AdamW.
        let opt = json["optimizer"] as? [String: Any] ?? [:]
        let schedule = json["schedule"] as? [String: Any] ?? [:]
        let lr = (opt["lr"] as? NSNumber)?.floatValue ?? 0
        let betas = floats(opt["betas"])
        var adam = AdamW(
            beta1: betas[0], beta2: betas[1], epsilon: (opt["eps"] as? NSNumber)?.floatValue ?? 1e-8,
            weightDecay: (opt["weight_decay"] as? NSNumber)?.floatValue ?? 0)
        let decayNames = Set(json["decay_parameters"] as? [String] ?? [])
        for e in model.parameters.entries { #expect(e.decay == decayNames.contains(e.name), "decay flag of \(e.name)") }
        let norms = floats(json["grad_norms"])
        let lrs = floats(json["lrs"])
        let warmup = schedule["warmup_steps"] as? Int ?? 0
        let total = schedule["total_steps"] as? Int ?? 0
        let steps = json["steps"] as? Int ?? 0
        let gradsLast = try SafetensorsFile(path: c0(c.folder, "grads_last.safetensors"))
        for s in 0..<steps {
            let (batch, labels) = try Self.batch(json, s)
            // The trainer's step: zeroed gradients (plus, from the second step, a fusion's regularization gradient),
            // then the batch's.
            let r = try DataParallelStep(model: model, group: SingleProcess()).run(total: batch.batchSize, seed: UInt64(s), step: s) {
                _ in (batch, labels)
            }
            #expect(abs(r.loss - losses[s]) <= 1e-5 + 1e-4 * abs(losses[s]), "loss at step \(s)")
            if s == steps - 1 {
                // After two updates every tensor (LoRA's A and B alike) has moved: its gradients again.
                let lastBad = try Self.gradientMismatches(model, gradsLast, zero: zero, label: "step \(s)")
                #expect(lastBad.isEmpty, "\(lastBad.prefix(8))")
            }
            let norm = GradientClipping.clip(model.parameters, maxNorm: (json["max_grad_norm"] as? NSNumber)?.floatValue ?? 1)
            #expect(abs(norm - norms[s]) <= 1e-5 + 1e-3 * norms[s], "grad norm at step \(s)")
            let stepLR = lr * LearningRateSchedule.linear.factor(step: s, warmupSteps: warmup, totalSteps: total)
            #expect(abs(stepLR - lrs[s]) <= 1e-9 + 1e-6 * lrs[s], "lr at step \(s)")
            adam.update(model.parameters, learningRate: stepLR)
        }
        let after = try SafetensorsFile(path: c.folder.appendingPathComponent("after3.safetensors").path)
        bad = []
        for pname in after.tensorNames {
            let ours = model.tensor(pname) ?? []
            let reference = try Self.read(after, pname)
            let start = initial[pname] ?? []
            if zero.contains(pname) {
                // Adam turns a gradient of pure rounding noise into steps of ±lr: only their size is defined.
                let bound = lrs.reduce(0, +) * 1.01
                if zip(ours, start).contains(where: { abs($0 - $1) > bound }) { bad.append("\(pname) moved past Σ lr") }
                continue
            }
            bad += Self.mismatches("param " + pname, ours, reference)
            guard start.count == ours.count, start.count == reference.count else { continue }
            let update = zip(ours, start).map { $0 - $1 }
            let referenceUpdate = zip(reference, start).map { $0 - $1 }
            if let m = Self.relativeMismatch("update " + pname, update, referenceUpdate, rtol: 1e-3) { bad.append(m) }
        }
        #expect(bad.isEmpty, "\(bad.prefix(8))")
        if model.mode != .full {
            #expect(model.base.weights.arena.checksum() == frozenBefore, "the frozen base changed")
        }
    }
}

/// A fixture file's path in a case folder.
private func c0(_ folder: URL, _ file: String) -> String { folder.appendingPathComponent(file).path }
