import Adapters
import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing

/// The whole training backward pass (adapters, LoRA, head, full fine-tuning, dropout) against
/// finite differences of the loss, on the tiny RoBERTa/BERT fixtures.
@Suite("Training backward vs finite differences")
struct AdapterGradientTests {
    static func model(_ name: String, mode: TrainingMode, dropout: Float) throws -> AdapterModel {
        let base = try ParityTests.loadModel(name)
        var config = base.config
        config.hiddenDropoutProb = dropout
        config.attentionProbsDropoutProb = dropout
        let rebased = EncoderModel(config: config, withPooler: base.weights.poolerWeight != nil)
        // Same weights, new config (dropout): copy the arena.
        rebased.weights.arena.pointer(rebased.weights.arena.slots[0]).update(
            from: base.weights.arena.pointer(base.weights.arena.slots[0]), count: base.weights.arena.capacity)
        let model = try AdapterModel(
            base: rebased, mode: mode, head: HeadSpec(name: "task", labels: ["a", "b", "c"], dropout: dropout))
        // Values well above the 0.02-scale init, so that every path's gradient is large next to the
        // finite-difference noise (LoRA's B would otherwise start at zero and hide A's gradient).
        // In full fine-tuning the base is the fixture's (already at unit scale); the head is drawn like the
        // adapters' tensors — left at zero it would make every gradient zero and the check vacuous.
        // Learned scales ((IA)³ vectors, a bottleneck's learned scaling) around 1, as they start: near zero
        // they would shrink everything they scale below the finite differences' resolution.
        // Buffers (LoReFT's orthogonal base) as a new adapter gets them.
        model.initializeTrainable(seed: 5)
        let names = Set(model.trainableNames)
        for (i, name) in model.trainableNames.enumerated() where mode != .full || name.hasPrefix("heads.") {
            var values = randomFloats(model.tensor(name)?.count ?? 0, seed: UInt64(i + 1), scale: 0.3)
            let isScale =
                name.hasSuffix(".scaling") || name.hasSuffix(".m.weight")
                || (name.hasSuffix("lora_B") && !names.contains(name.dropLast(1) + "A"))
            if isScale { values = values.map { 1 + $0 } }
            // A PHM weight is a product of three drawn tensors (rule, W_left, W_right): larger draws keep it
            // (and so the gradients) well above the differences' noise.
            let leaf = name.split(separator: ".").last ?? ""
            if ["phm_rule", "W_left", "W_right", "W"].contains(leaf) { values = values.map { 3 * $0 } }
            // LoReFT's orthogonal map multiplies column i by trunc(original[i, i]): ±1.5 keeps it at ±1.
            if name.hasSuffix("parametrizations.weight.original") {
                let c = base.config.hiddenSize
                for i in 0..<(values.count / c) { values[i * c + i] = i % 2 == 0 ? -1.5 : 1.5 }
            }
            try model.setTensor(name, values)
        }
        return model
    }

    static func batch(roberta: Bool) throws -> (TokenBatch, [Int32]) {
        let seqs: [[Int32]] = roberta
            ? [[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2], [0, 44, 45, 12, 13, 14, 2]]
            : [[101, 7, 8, 9, 102], [101, 50, 102], [101, 60, 61, 62, 63, 64, 102]]
        return (try TokenBatch(sequences: seqs, padId: roberta ? 1 : 0), [2, 0, 1])
    }

    static let cases: [(String, String, Float)] = [
        ("tiny-roberta-cls", "seq_bn", 0), ("tiny-roberta-cls", "double_seq_bn", 0), ("tiny-roberta-cls", "lora", 0),
        ("tiny-bert-cls", "seq_bn", 0.2), ("tiny-bert-cls", "lora", 0.2), ("tiny-roberta-cls", "full", 0),
        ("tiny-bert-cls", "head", 0),
        ("tiny-roberta-cls", "par_bn", 0), ("tiny-bert-cls", "scaled_par_bn", 0.2), ("tiny-roberta-cls", "ia3", 0.1),
        ("tiny-bert-cls", "ia3[output_lora=True,attn_matrices=[q,k,v]]", 0.2),
        ("tiny-bert-cls", "lora[r=4,alpha=12,attn_matrices=[q,k,v],intermediate_lora=True,output_lora=True]", 0.2),
        ("tiny-roberta-cls", "lora[attn_matrices=[],intermediate_lora=True]", 0),
        ("tiny-roberta-cls", "seq_bn[scaling=channel,init_weights=houlsby]", 0.1),
        ("tiny-roberta-cls", "compacter[reduction_factor=4,phm_rank=2]", 0.1),
        ("tiny-bert-cls", "lora[dropout=0.3,attn_matrices=[q,k,v],intermediate_lora=True,output_lora=True]", 0.1),
        ("tiny-roberta-cls", "seq_bn[dropout=0.3,non_linearity=gelu]|lora[dropout=0.2]", 0.1),
        ("tiny-roberta-cls", "seq_bn[dropout=0.3]", 0),
        ("tiny-roberta-cls", "lora[dropout=0.2]", 0), ("tiny-roberta-cls", "double_seq_bn[dropout=0.2]", 0),
        ("tiny-bert-cls", "seq_bn_inv", 0), ("tiny-roberta-cls", "dora", 0.1),
        ("tiny-bert-cls", "dora[r=4,alpha=12,attn_matrices=[k],output_lora=True]", 0), ("tiny-roberta-cls", "prompt_tuning[prompt_length=3]", 0.1),
        ("tiny-bert-cls", "prompt_tuning[prompt_length=2,combine=prefix_after_bos]|seq_bn", 0), ("tiny-roberta-cls", "ia3|par_bn[reduction_factor=4]", 0.1), ("tiny-roberta-cls", "double_seq_bn_inv[inv_adapter_reduction_factor=3]", 0.1),
        ("tiny-bert-cls", "compacter++[reduction_factor=4,shared_phm_rule=False,factorized_phm_W=False,phm_bias=False]", 0),
        ("tiny-roberta-cls", "prefix_tuning[prefix_length=3,bottleneck_size=8]", 0.1),
        ("tiny-bert-cls", "prefix_tuning_flat[prefix_length=2,leave_out=[0]]", 0.2),
        ("tiny-roberta-cls", "prefix_tuning[prefix_length=2,bottleneck_size=4,non_linearity=relu]|par_bn", 0),
        ("tiny-roberta-cls", "unipelt", 0.1),
        ("tiny-bert-cls", "lora[use_gating=True,attn_matrices=[q,v],intermediate_lora=True,output_lora=True,dropout=0.2]", 0.1),
        (
            "tiny-roberta-cls",
            "double_seq_bn[use_gating=True,dropout=0.2]|prefix_tuning[prefix_length=2,bottleneck_size=4,use_gating=True,shared_gating=False]",
            0.1
        ),
        ("tiny-bert-cls", "par_bn[use_gating=True,init_weights=houlsby,scaling=learned]", 0),
        ("tiny-roberta-cls", "loreft[r=2,prefix_positions=2,suffix_positions=1,dropout=0.1,layers=[0]]", 0.1),
        ("tiny-bert-cls", "noreft[r=3,prefix_positions=1,suffix_positions=2,tied_weights=True,non_linearity=tanh]", 0.2),
        ("tiny-roberta-cls", "direft[r=2,layers=[0],suffix_positions=2]|lora[r=2]", 0),
        ("tiny-bert-cls", "vera[r=4,alpha=8,attn_matrices=[q,k,v],dropout=0.2]", 0.1),
        ("tiny-roberta-cls", "vera|seq_bn", 0),
        ("tiny-roberta-cls", "adapterplus[reduction_factor=4,stochastic_depth=0.3]", 0.1),
        ("tiny-bert-cls", "adapterplus[reduction_factor=4,use_gating=True,dropout=0.2]", 0),
        ("tiny-bert-cls", "double_seq_bn[stochastic_depth=0.5,dropout=0.1]", 0.1),
        ("tiny-roberta-cls", "dvora[r=4,alpha=16,attn_matrices=[k,v]]", 0.1),
        // AdapterFusion (dynamic) over two frozen adapters: dropout on the fusion scores as well.
        ("tiny-roberta-cls", "fuse:seq_bn,seq_bn[reduction_factor=8]", 0.2),
        ("tiny-bert-cls", "fuse:double_seq_bn,double_seq_bn[reduction_factor=4]", 0.1),
    ]

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(testCase: (String, String, Float)) throws {
        let (fixture, method, dropout) = testCase
        let mode: TrainingMode
        switch method {
        case "full": mode = .full
        case "head": mode = .headOnly
        case let m where m.hasPrefix("fuse:"):
            let configs = m.dropFirst(5).split(separator: ",", maxSplits: 1).map(String.init)
            mode = .fuse(
                try configs.enumerated().map { NamedAdapter(name: "f\($0.offset)", config: try AdapterConfig.parse($0.element, source: "test")) },
                fusion: .dynamic)
        default: mode = .adapter(name: "task", config: try AdapterConfig.parse(method, source: "test"))
        }
        let model = try Self.model(fixture, mode: mode, dropout: dropout)
        // The fused (frozen) adapters at the same scale as what trains, so that their outputs differ.
        for (i, slot) in model.bufferSlots.enumerated() where mode.isFuseForTests {
            try model.setTensor(slot.name, randomFloats(slot.count, seed: UInt64(100 + i), scale: 0.3))
        }
        let (batch, labels) = try Self.batch(roberta: fixture.contains("roberta"))
        model.parameters.zeroGradients()
        _ = try model.step(batch, labels: labels, seed: 11)
        // Step 3e-3: the float forward's rounding noise (~1e-7 on a loss near 1) stays below 1e-4
        // in the difference quotient, while the O(h²) truncation error is smaller still.
        let h: Float = 3e-3
        var checked = 0
        var weak: [String] = []
        for entry in model.parameters.entries {
            // A few elements of every tensor keep the test fast: the three largest analytic gradients (where a
            // wrong scale shows most) and three spread over the tensor (where a gradient wrongly zero shows).
            let analyticAll = UnsafeBufferPointer(start: entry.grad, count: entry.count)
            let largest = analyticAll.indices.sorted { abs(analyticAll[$0]) > abs(analyticAll[$1]) }.prefix(3)
            let picks = Set(largest).union((0..<3).map { ($0 * 7919 + 13) % entry.count })
            var signal: Float = 0
            for i in picks.sorted() {
                let saved = entry.value[i]
                entry.value[i] = saved + h
                let plus = try model.step(batch, labels: labels, seed: 11, backward: false).loss
                entry.value[i] = saved - h
                let minus = try model.step(batch, labels: labels, seed: 11, backward: false).loss
                entry.value[i] = saved
                let numeric = (plus - minus) / (2 * h)
                let analytic = entry.grad[i]
                #expect(abs(numeric - analytic) <= 2e-4 + 3e-2 * abs(numeric), "\(entry.name)[\(i)]: analytic \(analytic), numeric \(numeric)")
                signal = max(signal, abs(numeric))
                checked += 1
            }
            // Scale-aware: the compared gradients must stand 50× above the finite differences' noise floor
            // (~1e-4), or the check above could not tell a right gradient from zero.
            // The key bias adds the same q·b to every score of a query, which softmax ignores: zero by
            // construction, so its gradient must be float noise instead.
            // So is a fusion layer's key bias (the same Q·b_k for every adapter) — but for the dropout on the fusion's
            // scores, which scales them apart: then it is an ordinary gradient, checked above.
            let fusionKeyBias = entry.name.contains("adapter_fusion_layer") && entry.name.hasSuffix("key.bias")
            if fusionKeyBias && dropout > 0 { continue }
            if entry.name.hasSuffix("attention.self.key.bias") || fusionKeyBias {
                #expect(analyticAll.allSatisfy { abs($0) < 1e-5 }, "\(entry.name) should get no gradient")
                continue
            }
            // A gate's gradient is a mean over a sequence's rows through σ': 1e-3 still stands 10× above the noise.
            let isGate = entry.name.contains(".gate.") || entry.name.contains(".prefix_gates.")
            if signal < (isGate ? 1e-3 : 5e-3) { weak.append("\(entry.name): largest |numeric| \(signal)") }
        }
        #expect(checked > 0)
        #expect(weak.isEmpty, "gradients too small to check: \(weak)")
    }

    /// Adapter dropout (LoRA's input, a bottleneck's output) acts in training only, and it does act there.
    @Test func adapterDropoutOnlyActsInTraining() throws {
        for (with, without) in [("lora[dropout=0.5]", "lora"), ("double_seq_bn[dropout=0.5]", "double_seq_bn")] {
            let dropped = try Self.model(
                "tiny-roberta-cls", mode: .adapter(name: "task", config: try AdapterConfig.parse(with, source: "test")), dropout: 0)
            let plain = try Self.model(
                "tiny-roberta-cls", mode: .adapter(name: "task", config: try AdapterConfig.parse(without, source: "test")), dropout: 0)
            for name in plain.trainableNames { try dropped.setTensor(name, plain.tensor(name) ?? []) }
            let (batch, labels) = try Self.batch(roberta: true)
            #expect(try dropped.logits(batch) == (try plain.logits(batch)), "\(with)")
            let a = try dropped.step(batch, labels: labels, seed: 3, backward: false).loss
            let b = try plain.step(batch, labels: labels, seed: 3, backward: false).loss
            #expect(abs(a - b) > 1e-4, "\(with): dropout changed nothing in training")
        }
    }

    /// `prompt_init="from_string"`: the prompt's rows are the word embeddings of the text's ids, repeated.
    @Test func promptStartsFromTheWordEmbeddingsOfItsText() throws {
        let config = try AdapterConfig.parse(
            "prompt_tuning[prompt_length=5,prompt_init=from_string,prompt_init_text='a b']", source: "test")
        let model = try Self.model("tiny-roberta-cls", mode: .adapter(name: "task", config: config), dropout: 0)
        try model.initializePrompt(fromTokenIds: [0, 17, 2])
        let c = model.config.hiddenSize
        let name = try #require(model.trainableNames.first { $0.hasSuffix("prompt_embedding.weight") })
        let prompt = try #require(model.tensor(name))
        let table = model.base.weights.pointer(model.base.weights.wordEmbeddings)
        for (i, id) in [0, 17, 2, 0, 17].enumerated() {
            #expect(Array(prompt[(i * c)..<((i + 1) * c)]) == Array(UnsafeBufferPointer(start: table + id * c, count: c)))
        }
        #expect(throws: EncoderError.self) { try model.initializePrompt(fromTokenIds: [1_000_000]) }
    }

    @Test func frozenBaseIsUntouchedAndGetsNoGradients() throws {
        let model = try Self.model("tiny-roberta-cls", mode: .adapter(name: "task", config: .defaults(for: .seqBn)), dropout: 0.1)
        let before = model.base.weights.arena.checksum()
        let (batch, labels) = try Self.batch(roberta: true)
        _ = try model.step(batch, labels: labels, seed: 1)
        #expect(model.base.weights.arena.checksum() == before)
        #expect(!model.trainableNames.contains { $0.contains("attention.self.query.weight") })
        // 2 layers × 4 adapter tensors + 4 head tensors.
        #expect(model.trainableNames.count == 12)
    }
}

extension TrainingMode {
    var isFuseForTests: Bool {
        if case .fuse = self { return true }
        return false
    }
}
