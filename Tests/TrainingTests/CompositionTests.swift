import Adapters
import Encoders
import Foundation
import ModelIO
import TestSupport
import Testing

@testable import Training

/// Parallel, BatchSplit, `average_adapter` and `average_head` against adapters 1.3.0
/// (tools/make_composition_fixtures.py: the tiny RoBERTa, adapters and heads re-drawn at unit scale).
@Suite("Composition and averaging")
struct CompositionTests {
    static func setup() throws -> (ModelWithAdapters, TokenBatch, [String: Any]) {
        let json = try Fixtures.json("composition/expected.json")
        let batch = try LifecycleTests.batch(json)
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        for name in ["a", "b", "c", "d", "e"] {
            #expect(try model.loadAdapter(from: Fixtures.url("composition/\(name)")) == name)
        }
        try model.loadAdapter(from: Fixtures.url("composition/a2"), withHead: false)
        return (model, batch, json)
    }

    static func rows(_ value: Any?) -> [Float] { (value as? [Any] ?? []).flatMap(floats) }

    @Test func singlesMatchFirst() throws {
        let (model, batch, json) = try Self.setup()
        for name in ["a", "b", "c", "d", "e"] {
            try model.setActiveAdapters(AdapterSetup([name]))
            try model.setActiveHead(name)
            #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["single_\(name)"])) <= 1e-4, "\(name)")
        }
    }

    @Test func parallelRunsEveryBranchWithItsHead() throws {
        let (model, batch, json) = try Self.setup()
        let out = try model.parallelLogits(["a", "c", "d"], batch)
        #expect(out.map(\.head) == ["a", "c", "d"])
        let expected = json["parallel"] as? [Any] ?? []
        for (k, branch) in out.enumerated() {
            #expect(maxAbsDifference(branch.logits, Self.rows(expected[k])) <= 1e-4, "branch \(branch.head)")
        }
        // The tagging branch gives one row per attended token.
        #expect(out[1].logits.count == batch.attentionMask.filter { $0 == 1 }.count * 2)
        let lora = try model.parallelLogits(["b", "e"], batch)
        let expectedLoRA = json["parallel_lora"] as? [Any] ?? []
        #expect(maxAbsDifference(lora[0].logits, Self.rows(expectedLoRA[0])) <= 1e-4)
        #expect(maxAbsDifference(lora[1].logits, Self.rows(expectedLoRA[1])) <= 1e-4)
        // Unlike adapters 1.3.0 our Parallel also mixes methods (a bottleneck with a LoRA): each as run alone.
        let mixed = try model.parallelLogits(["a", "b"], batch)
        #expect(maxAbsDifference(mixed[1].logits, Self.rows(json["single_b"])) <= 1e-4)
    }

    @Test func batchSplitSendsRowsToTheirBranch() throws {
        let (model, batch, json) = try Self.setup()
        let out = try model.batchSplitLogits(["a", "c"], sizes: [1, 2], batch)
        let expected = json["batch_split"] as? [Any] ?? []
        #expect(out.map(\.head) == ["a", "c"])
        #expect(maxAbsDifference(out[0].logits, Self.rows(expected[0])) <= 1e-4)
        #expect(maxAbsDifference(out[1].logits, Self.rows(expected[1])) <= 1e-4)
        #expect(
            throws: AdapterError.invalidSetup(
                "BatchSplit's batch sizes [1, 1] must be positive and add up to the batch's 3 sequences")
        ) {
            try model.batchSplitLogits(["a", "c"], sizes: [1, 1], batch)
        }
        #expect(throws: AdapterError.unknownAdapter("zz")) {
            try model.batchSplitLogits(["a", "zz"], sizes: [1, 2], batch)
        }
    }

    @Test func averageAdapterAndHeadMatchPython() throws {
        let (model, batch, json) = try Self.setup()
        try model.averageAdapter("avg", from: ["a", "a2"], weights: [1, 3])  // normalised: 0.25, 0.75
        try model.setActiveAdapters("avg")
        try model.setActiveHead("a")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["average_adapter"])) <= 1e-4)
        // The averaged tensors are those adapters 1.3.0 saved.
        let python = ModelWithAdapters(base: model.base)
        try python.loadAdapter(from: Fixtures.url("composition/avg"), loadAs: "avg", withHead: false)
        let ours = try #require(model.adapters["avg"]?.tensors)
        let theirs = try #require(python.adapters["avg"]?.tensors)
        #expect(Set(ours.keys) == Set(theirs.keys))
        for (k, v) in ours { #expect(maxAbsDifference(v, theirs[k] ?? []) <= 1e-6, "\(k)") }

        try model.averageHead("avg_head", from: ["a", "d"], weights: [0.4, 0.6])
        try model.setActiveAdapters("a")
        try model.setActiveHead("avg_head")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["average_head"])) <= 1e-4)

        #expect(throws: AdapterError.self) { try model.averageAdapter("mix", from: ["a", "b"]) }
        #expect(
            throws: AdapterError.invalidSetup(
                "combine strategy lora_linear_only_negate_b applies to LoRA and (IA)³ adapters only (not VeRA or DoRA)")
        ) {
            try model.averageAdapter("neg", from: ["a", "a2"], combine: .loraLinearOnlyNegateB)
        }
        #expect(
            throws: AdapterError.invalidSetup(
                "cannot average heads with different configurations: 'a' is classification (2 labels), 'b' is classification (3 labels)"
            )
        ) {
            try model.averageHead("h", from: ["a", "b"])
        }
        #expect(throws: AdapterError.invalidSetup("the weights [1.0, -1.0] add up to 0: they cannot be normalised")) {
            try model.averageAdapter("z", from: ["a", "a2"], weights: [1, -1])
        }
    }

    /// AdapterHub's `Average` block: each adapter's output at every location, weighted — including adapters 1.3.0's
    /// extra division by the number of adapters (its `torch.mean` over the weighted outputs).
    @Test func averageBlockMatchesPython() throws {
        let (model, batch, json) = try Self.setup()
        try model.setActiveAdapters(try .average(["a", "d"], weights: [0.7, 0.3]))
        #expect(model.activeHead == "d")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["average_ad"])) <= 1e-4)
        try model.setActiveAdapters(try .average(["b", "e"], weights: [3, 2]))
        #expect(model.activeHead == "e")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["average_be"])) <= 1e-4)
        // Not the adapters' mean: an Average of an adapter with its copy differs from the adapter (as in Python).
        try model.setActiveAdapters(try .average(["a", "a2"], weights: [1, 0]))
        try model.setActiveHead("a")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["single_a"])) > 1e-2)
        // A mixed batch runs an Average beside single adapters.
        try model.setActiveAdapters(try .average(["a", "d"], weights: [0.7, 0.3]))
        try model.setActiveHead("d")
        let average = try model.inferenceModel()
        try model.setActiveAdapters("a")
        let single = try model.inferenceModel()
        let mixed = try average.mixedLogits(batch, parts: [(single, 0..<1), (average, 1..<3)])
        #expect(maxAbsDifference(mixed[1], Array(Self.rows(json["average_ad"])[2...])) <= 1e-4)
        // Adapters at different locations, or a method that does not average, are refused; training is refused.
        try model.setActiveAdapters(try .average(["a", "b"]))
        #expect(throws: EncoderError.self) { try model.logits(batch) }
        #expect(throws: AdapterError.self) { try model.trainAdapter(try .average(["a", "d"])) }
        let engine = try AdapterModel(
            base: model.base,
            mode: .average(
                [
                    NamedAdapter(name: "a", config: try #require(model.adapterConfig("a"))),
                    NamedAdapter(name: "d", config: try #require(model.adapterConfig("d"))),
                ], weights: [0.5, 0.5]),
            head: HeadSpec(name: "d", labels: ["neg", "pos"], dropout: 0))
        #expect(
            throws: EncoderError.invalidInput("training an Average of adapters is not supported: it runs for inference")
        ) {
            try engine.step(batch, labels: [0, 1, 0], seed: 0)
        }
    }

    /// AdapterFusion folders saved by adapters 1.3.0 (dynamic, static, and query_before_ln + residual_before + the
    /// value matrix after the softmax), loaded over the adapters they fuse: Python's logits.
    @Test(arguments: [("fuse_dynamic", ["a", "d"]), ("fuse_static", ["a", "d"]), ("fuse_flags", ["d", "a"])])
    func fusionMatchesPython(folder: String, names: [String]) throws {
        let (model, batch, json) = try Self.setup()
        #expect(
            throws: AdapterError.invalidSetup(
                "no AdapterFusion '\(names.joined(separator: ","))' is loaded (loadAdapterFusion)")
        ) {
            try model.setActiveAdapters(.fuse(names))
        }
        let name = try model.loadAdapterFusion(from: Fixtures.url("composition/\(folder)"), setActive: true)
        #expect(name == names.joined(separator: ","))
        #expect(model.activeHead == name && model.activeAdapters?.isFuse == true)
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json[folder])) <= 1e-4)
        // The fusion matters: the same adapters stacked, or one alone, give other logits.
        try model.setActiveAdapters(AdapterSetup([names[0]]))
        try model.setActiveHead(name)
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json[folder])) > 1e-2)
        // Training a fusion is refused (not yet built), with a message that says so.
        try model.setActiveAdapters(.fuse(names))
        let engine = try model.inferenceModel()
        #expect(engine.mode != .full)
        #expect(throws: AdapterError.self) { try model.trainAdapter(.fuse(names)) }
    }

    /// `add_adapter_fusion` → `train_adapter_fusion` → `save_adapter_fusion`: only the fusion layers and the head move,
    /// and the saved folder loads back (over the same adapters) with the same logits.
    @Test func fusionTrainsSavesAndLoadsBack() throws {
        let (model, batch, _) = try Self.setup()
        try model.addAdapterFusion(["a", "d"], config: .dynamic, seed: 7)
        try model.addClassificationHead("a,d", labels: ["neg", "pos"], seed: 7)
        try model.trainAdapterFusion(["a", "d"])
        let engine = try model.trainingModel()
        #expect(
            Set(engine.trainableNames.map { $0.contains(".adapter_fusion_layer.a,d.") || $0.hasPrefix("heads.a,d.") })
                == [true])
        #expect(engine.trainableNames.count == 2 * 5 + 4)
        let adaptersBefore = engine.bufferSlots.map { engine.tensor($0.name) ?? [] }
        let fusionBefore = engine.tensor("roberta.encoder.layer.0.output.adapter_fusion_layer.a,d.query.weight") ?? []
        var adam = AdamW()
        for step in 0..<3 {
            _ = try DataParallelStep(model: engine, group: SingleProcess()).run(
                total: 3, seed: UInt64(step), step: step
            ) { _ in
                (batch, .classes([0, 1, 1]))
            }
            adam.update(engine.parameters, learningRate: 0.01)
        }
        #expect(engine.bufferSlots.map { engine.tensor($0.name) ?? [] } == adaptersBefore, "the fused adapters moved")
        #expect(
            maxAbsDifference(
                engine.tensor("roberta.encoder.layer.0.output.adapter_fusion_layer.a,d.query.weight") ?? [],
                fusionBefore) > 1e-4)
        let trained = try model.logits(batch)
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let folder = tmp.appendingPathComponent("a,d")
        try model.saveAdapterFusion(to: folder, name: "a,d")
        for file in [
            "adapter_fusion_config.json", "model_adapter_fusion.safetensors", "head_config.json",
            "model_head.safetensors",
        ] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
        let (again, _, _) = try Self.setup()
        #expect(try again.loadAdapterFusion(from: folder, setActive: true) == "a,d")
        #expect(maxAbsDifference(try again.logits(batch), trained) <= 1e-6)
    }

    @Test func fusionFoldersThatDoNotFitAreRefused() throws {
        let (model, _, _) = try Self.setup()
        let fresh = ModelWithAdapters(base: model.base)
        #expect(throws: AdapterError.self) {
            try fresh.loadAdapterFusion(from: Fixtures.url("composition/fuse_dynamic"))
        }
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let copy = tmp.appendingPathComponent("f")
        try FileManager.default.copyItem(at: Fixtures.url("composition/fuse_dynamic"), to: copy)
        let config = copy.appendingPathComponent("adapter_fusion_config.json")
        var top = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any] ?? [:]
        var inner = top["config"] as? [String: Any] ?? [:]
        inner["temperature"] = true
        top["config"] = inner
        try JSONSerialization.data(withJSONObject: top).write(to: config)
        do {
            try model.loadAdapterFusion(from: copy)
            Issue.record("a temperature fusion was accepted")
        } catch let error as ModelIOError {
            #expect(error.description.contains(config.path) && error.description.contains("temperature"), "\(error)")
        }
    }

    /// AdapterHub's `Split`: positions 0–1 through one adapter, the rest through the other.
    @Test func splitMatchesPython() throws {
        let (model, batch, json) = try Self.setup()
        try model.setActiveAdapters(try .split(["a", "d"], splits: [2, 4]))
        #expect(model.activeHead == "d")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["split_ad"])) <= 1e-4)
        // Every position past the first split's (positions 2…) through d: the same as splits [2, 1].
        try model.setActiveAdapters(try .split(["a", "d"], splits: [2, 1]))
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["split_ad"])) <= 1e-4)
        // The split matters: all through d differs.
        try model.setActiveAdapters("d")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["split_ad"])) > 1e-2)
        #expect(throws: AdapterError.self) { try AdapterSetup.split(["a", "d"], splits: [2]) }
        try model.setActiveAdapters(try .split(["a", "b"], splits: [2, 4]))
        #expect(throws: EncoderError.self) { try model.logits(batch) }
    }

    /// `lora_delta_w_svd`: 1.5·ΔW of the LoRA adapter b cut to rank 2 by an SVD, as adapters 1.3.0 does it (r becomes 2,
    /// alpha stays, so the scaling doubles): Python's logits and each location's rank-2 update B·A.
    @Test func averageAdapterWithDeltaWSVDMatchesPython() throws {
        let (model, batch, json) = try Self.setup()
        try model.averageAdapter("svd", from: ["b"], weights: [1.5], normalize: false, combine: .loraDeltaWSVD, svdRank: 2)
        try model.setActiveAdapters("svd")
        try model.setActiveHead("b")
        #expect(maxAbsDifference(try model.logits(batch), Self.rows(json["average_svd"])) <= 1e-4)
        guard case .lora(let config) = model.adapters["svd"]?.config else {
            Issue.record("the averaged adapter is not LoRA")
            return
        }
        #expect(config.r == 2 && config.alpha == 8)
        let tensors = try #require(model.adapters["svd"]?.tensors)
        let expected = json["average_svd_delta_w"] as? [String: [Double]] ?? [:]
        #expect(expected.count >= 4)
        for (location, values) in expected {
            let a = try #require(tensors[location + ".loras.svd.lora_A"], "\(location)")
            let b = try #require(tensors[location + ".loras.svd.lora_B"], "\(location)")
            let fanIn = a.count / 2
            // The first values of B [out, 2] · A [2, in], row-major.
            let product = (0..<values.count).map { i in b[(i / fanIn) * 2] * a[i % fanIn] + b[(i / fanIn) * 2 + 1] * a[fanIn + i % fanIn] }
            #expect(maxAbsDifference(product, values.map(Float.init)) <= 1e-5, "\(location)")
        }
        #expect(throws: AdapterError.invalidSetup("combine strategy lora_delta_w_svd needs an svd rank of at least 1")) {
            try model.averageAdapter("x", from: ["b"], combine: .loraDeltaWSVD)
        }
        #expect(throws: AdapterError.invalidSetup("combine strategy lora_delta_w_svd applies to plain LoRA adapters only (not seq_bn)")) {
            try model.averageAdapter("x", from: ["a", "a2"], combine: .loraDeltaWSVD, svdRank: 2)
        }
    }

    /// `lora_linear_only_negate_b`: A takes |w|, B takes w, so the update of a negatively weighted adapter is subtracted.
    @Test func negateBKeepsASign() throws {
        let (model, _, _) = try Self.setup()
        try model.averageAdapter(
            "n", from: ["b", "b"], weights: [0.5, -1.5], normalize: false, combine: .loraLinearOnlyNegateB)
        let b = try #require(model.adapters["b"]?.tensors)
        let n = try #require(model.adapters["n"]?.tensors)
        for (k, v) in b {
            let renamed = AdapterHubNames.renaming(k, from: "b", to: "n")
            let factor: Float = k.hasSuffix("lora_A") ? 2 : -1
            #expect(maxAbsDifference(n[renamed] ?? [], v.map { $0 * factor }) <= 1e-6, "\(k)")
        }
    }
}
