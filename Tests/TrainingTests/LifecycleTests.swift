import Adapters
import Encoders
import Foundation
import Inference
import Kernels
import TestSupport
import Testing

@testable import Training

/// The multi-adapter API against the Python library's fixtures (tools/make_lifecycle_fixtures.py).
@Suite("Adapter lifecycle")
struct LifecycleTests {
    static func batch(_ json: [String: Any]) throws -> TokenBatch {
        let ids = (json["input_ids"] as? [Any] ?? []).map(int32s)
        let mask = (json["attention_mask"] as? [Any] ?? []).map(int32s)
        return try TokenBatch(
            batchSize: ids.count, sequenceLength: ids.first?.count ?? 0, inputIds: ids.flatMap { $0 },
            attentionMask: mask.flatMap { $0 })
    }

    /// A few AdamW steps on `model.trainingModel()` so that every trainable tensor moves.
    static func train(_ model: ModelWithAdapters, _ batch: TokenBatch, steps: Int = 3) throws {
        let engine = try model.trainingModel()
        var adam = AdamW(weightDecay: 0.01)
        for step in 0..<steps {
            engine.parameters.zeroGradients()
            _ = try engine.step(batch, labels: [1, 0], seed: UInt64(step))
            adam.update(engine.parameters, learningRate: 0.05)
        }
    }

    @Test(arguments: ["seq_bn", "mixed", "double_seq_bn", "lora"])
    func stackOfTwoAdaptersGivesThePythonLogits(_ kind: String) throws {
        let folder = Fixtures.url("lifecycle/stack_\(kind)")
        let json = try Fixtures.json("lifecycle/stack_\(kind)/expected.json")
        let batch = try Self.batch(json)
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        #expect(try model.loadAdapter(from: folder.appendingPathComponent("lang")) == "lang")
        #expect(try model.loadAdapter(from: folder.appendingPathComponent("task")) == "task")
        #expect(model.headNames == ["task"])
        try model.setActiveAdapters(.stack("lang", "task"))
        #expect(model.activeHead == "task")
        let stacked = try model.logits(batch)
        #expect(maxAbsDifference(stacked, (json["stack_logits"] as? [Any] ?? []).flatMap(floats)) <= 1e-4)
        try model.setActiveAdapters("task")
        #expect(
            maxAbsDifference(try model.logits(batch), (json["task_logits"] as? [Any] ?? []).flatMap(floats)) <= 1e-4)
        // The order matters, and training a stack is refused rather than silently wrong.
        try model.setActiveAdapters(.stack("task", "lang"))
        #expect(maxAbsDifference(try model.logits(batch), stacked) > 1e-3)
        #expect(
            throws: AdapterError.invalidSetup(
                "training Stack[lang, task] is not supported: train one adapter at a time, then stack it for inference")
        ) { try model.trainAdapter(.stack("lang", "task")) }
        let engine = try AdapterModel(
            base: model.base,
            mode: .stack([
                NamedAdapter(name: "lang", config: try #require(model.adapterConfig("lang"))),
                NamedAdapter(name: "task", config: try #require(model.adapterConfig("task"))),
            ]), head: HeadSpec(name: "task", labels: ["a", "b", "c"], dropout: 0))
        #expect(
            throws: EncoderError.invalidInput(
                "training a Stack of adapters is not supported: train one adapter, then stack it for inference")
        ) { try engine.step(batch, labels: [0, 1], seed: 0) }
    }

    /// The seed's workflow: add, train, save, deactivate, delete — then the base is the loaded one,
    /// bit for bit, and the head on the bare base gives exactly the no-adapter logits.
    /// Every method (Compacter at reduction factor 4: the tiny base's 48 channels / 32 leave no room for
    /// phm_dim 4).
    @Test(arguments: [
        "seq_bn", "double_seq_bn", "par_bn", "scaled_par_bn", "lora", "ia3", "compacter[reduction_factor=4]",
        "compacter++[reduction_factor=4]", "seq_bn_inv", "double_seq_bn_inv",
        "lora|seq_bn", "prompt_tuning", "dora",
    ])
    func deactivatingAndDeletingRestoresTheBaseExactly(_ method: String) throws {
        let config = try AdapterConfig.parse(method, source: "test")
        let json = try Fixtures.json("lifecycle/stack_seq_bn/expected.json")
        let batch = try Self.batch(json)
        let model = ModelWithAdapters(base: try AdapterInteropTests.base(), modelName: "tiny-roberta")
        let fresh = try AdapterInteropTests.base()
        let checksum = model.baseChecksum
        #expect(checksum == fresh.weights.arena.checksum())
        let hiddenBefore = try model.lastHiddenState(batch)

        try model.addAdapter("rt", config: config, seed: 3)
        try model.addClassificationHead("rt", labels: ["negative", "positive"], seed: 4)
        #expect(model.activeHead == "rt" && model.activeAdapters == nil)
        try model.trainAdapter("rt")
        #expect(model.baseFrozen && model.activeAdapters == "rt")
        try Self.train(model, batch)
        let adapted = try model.logits(batch)
        #expect(try model.lastHiddenState(batch) != hiddenBefore)
        if case .lora = config {
            try model.mergeAdapter("rt")
            #expect(model.baseChecksum != checksum)
            #expect(maxAbsDifference(try model.logits(batch), adapted) <= 1e-5)
        }
        let saved = try Fixtures.temporaryFolder().appendingPathComponent("rt")
        try model.saveAdapter(to: saved, name: "rt")

        try model.setActiveAdapters(nil)
        #expect(model.mergedAdapter == nil && model.baseChecksum == checksum)
        #expect(try model.lastHiddenState(batch) == hiddenBefore)
        let headOnly = try model.logits(batch)
        try model.deleteAdapter("rt")
        #expect(model.adapterNames.isEmpty && model.headNames == ["rt"] && model.baseFrozen)
        #expect(try model.logits(batch) == headOnly)

        // The same head on a freshly loaded base, no adapter: the same logits, bit for bit.
        let reference = ModelWithAdapters(base: fresh)
        try reference.loadAdapter(from: saved, setActive: false)
        #expect(reference.activeHead == nil)  // as load_adapter(set_active=False) leaves it
        try reference.setActiveHead("rt")
        try reference.deleteAdapter("rt")
        #expect(try reference.logits(batch) == headOnly)

        try model.addAdapter("again", config: config)
        try model.deleteAdapter("again", deleteHead: true, unfreezeBase: true)
        try model.deleteHead("rt")
        #expect(model.headNames.isEmpty && model.activeHead == nil && !model.baseFrozen)
        #expect(model.baseChecksum == checksum)
        #expect(try model.lastHiddenState(batch) == hiddenBefore)
        #expect(throws: Self.noActiveHead) { try model.logits(batch) }

        // What was saved loads back (under another name) with the trained logits.
        let reloaded = ModelWithAdapters(base: try AdapterInteropTests.base())
        #expect(try reloaded.loadAdapter(from: saved, loadAs: "copy", setActive: true) == "copy")
        #expect(reloaded.activeHead == "copy")
        #expect(maxAbsDifference(try reloaded.logits(batch), adapted) <= 1e-6)
    }

    @Test func severalAdaptersLiveSideBySide() throws {
        let batch = try Self.batch(try Fixtures.json("lifecycle/stack_seq_bn/expected.json"))
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        try model.addAdapter("a", config: .bottleneck(.seqBn), seed: 1)
        try model.addClassificationHead("a", labels: ["x", "y"], seed: 1)
        try model.addAdapter("b", config: .lora(LoRAConfig()), seed: 2)
        try model.addClassificationHead("b", labels: ["p", "q", "r"], seed: 2)
        try model.trainAdapter("a")
        try Self.train(model, batch)
        let aLogits = try model.logits(batch)
        try model.trainAdapter("b")
        #expect(model.activeHead == "b" && model.classLabels == ["p", "q", "r"])
        try Self.train(model, batch)
        let bLogits = try model.logits(batch)
        // Switching back finds a's trained values, untouched by b's training.
        try model.setActiveAdapters("a")
        #expect(try model.logits(batch) == aLogits)
        try model.setActiveAdapters("b")
        #expect(try model.logits(batch) == bLogits)
        let rows = model.summary()
        #expect(rows.map(\.name) == ["a", "b"])
        #expect(rows.map(\.architecture) == ["seq_bn", "lora"])
        #expect(rows[1].active && !rows[0].active && rows[1].training)
        #expect(rows.allSatisfy { $0.parameters > 0 && $0.percentOfBase > 0 })
    }

    /// Tagging, regression and multi-label heads through the lifecycle API: trained, saved with their adapter,
    /// loaded back into a fresh model with the same outputs and the same head configuration.
    @Test func otherHeadsSaveAndLoadBack() throws {
        let batch = try Self.batch(try Fixtures.json("lifecycle/stack_seq_bn/expected.json"))
        let t = batch.sequenceLength
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let cases: [(HeadConfig, [String], HeadTargets)] = [
            (HeadConfig(type: .tagging), ["O", "B-X", "I-X"],
             .tokenClasses((0..<(2 * t)).map { $0 % t == 0 ? -100 : Int32($0 % 3) })),
            (HeadConfig(type: .tagging, layers: 2, activation: .gelu), ["O", "B-X"],
             .tokenClasses((0..<(2 * t)).map { Int32($0 % 2) })),
            (HeadConfig(type: .classification), ["LABEL_0"], .values([0.5, -1.5])),
            (HeadConfig(type: .multilabelClassification, layers: 1), ["a", "b", "c"], .values([1, 0, 1, 0, 0, 1])),
        ]
        for (k, (config, labels, targets)) in cases.enumerated() {
            let model = ModelWithAdapters(base: try AdapterInteropTests.base(), modelName: "tiny-roberta")
            try model.addAdapter("h", config: .bottleneck(.seqBn), seed: 3)
            try model.addHead("h", config: config, labels: labels, seed: 3)
            try model.trainAdapter("h")
            let engine = try model.trainingModel()
            #expect(engine.head.config == config)
            var adam = AdamW()
            for step in 0..<3 {
                engine.parameters.zeroGradients()
                let r = try engine.step(batch, targets: targets, seed: UInt64(step))
                #expect(r.loss.isFinite && r.loss > 0)
                adam.update(engine.parameters, learningRate: 0.05)
            }
            let trained = try model.logits(batch)
            let expectedRows = config.readsEveryToken ? batch.attentionMask.filter { $0 == 1 }.count : 2
            #expect(trained.count == expectedRows * labels.count)
            let folder = tmp.appendingPathComponent("h\(k)")
            try model.saveAdapter(to: folder, name: "h")
            let again = ModelWithAdapters(base: try AdapterInteropTests.base())
            #expect(try again.loadAdapter(from: folder, setActive: true) == "h")
            #expect(again.head("h")?.config == config && again.head("h")?.labels == labels)
            #expect(try again.logits(batch) == trained, "\(config)")
        }
        // A target that does not fit the head is a typed error, not a wrong loss.
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        try model.addRegressionHead("r")
        let engine = try model.trainingModel()
        #expect(throws: EncoderError.invalidInput("class labels do not fit a regression head")) {
            try engine.step(batch, labels: [0, 1], seed: 0)
        }
        #expect(throws: EncoderError.invalidInput("target nan of example 1 is not finite")) {
            try engine.step(batch, targets: .values([0, .nan]), seed: 0)
        }
    }

    /// `adapter_summary` counts parameters, not buffers: LoReFT's orthogonal bases and VeRA's shared A and B are saved
    /// with the adapter but are not part of its size.
    @Test func summaryCountsParametersNotBuffers() throws {
        let base = try AdapterInteropTests.base()
        let model = ModelWithAdapters(base: base)
        for (name, config) in [("r", AdapterConfig.reft(.loreft)), ("v", AdapterConfig.lora(.vera))] {
            try model.addAdapter(name, config: config)
            let built = try AdapterModel(base: base, mode: .adapter(name: name, config: config), head: HeadSpec(name: "h", labels: ["a", "b"], dropout: 0))
            #expect(!built.bufferSlots.isEmpty)
            let expected = built.parameters.entries.filter { !$0.name.hasPrefix("heads.") }.reduce(0) { $0 + $1.count }
            #expect(model.summary().first { $0.name == name }?.parameters == expected)
        }
    }

    static let noActiveHead = AdapterError.invalidSetup(
        "no active head: add one with addClassificationHead or call setActiveHead")

    @Test func misuseIsATypedError() throws {
        let batch = try Self.batch(try Fixtures.json("lifecycle/stack_seq_bn/expected.json"))
        let model = ModelWithAdapters(base: try AdapterInteropTests.base())
        #expect(throws: AdapterError.unknownAdapter("nope")) { try model.setActiveAdapters("nope") }
        #expect(throws: AdapterError.unknownAdapter("nope")) { try model.deleteAdapter("nope") }
        #expect(throws: AdapterError.unknownHead("nope")) { try model.deleteHead("nope") }
        #expect(
            throws: AdapterError.invalidSetup(
                "'has space' is not a usable name: letters, digits, '_' and '-' only (it becomes part of tensor names)")
        ) { try model.addAdapter("has space") }
        #expect(throws: AdapterError.invalidSetup("head 'h': a classification head needs at least 2 labels, got 1 (a regression head: addRegressionHead)")) {
            try model.addClassificationHead("h", labels: ["only"])
        }
        #expect(throws: AdapterError.invalidSetup("head 'h': the labels [\"x\", \"x\"] repeat a name")) {
            try model.addClassificationHead("h", labels: ["x", "x"])
        }
        #expect(throws: AdapterError.invalidSetup("no active head to train: add one with addClassificationHead")) {
            try model.trainingModel()
        }
        try model.addAdapter("a")
        #expect(throws: AdapterError.alreadyExists("a")) { try model.addAdapter("a") }
        try model.addAdapter("a", config: .lora(LoRAConfig()), overwrite: true)
        #expect(model.adapterConfig("a") == .lora(LoRAConfig()))
        #expect(throws: AdapterError.invalidSetup("activate 'a' alone before merging it")) { try model.mergeAdapter("a") }
        try model.addAdapter("bn")
        try model.setActiveAdapters("bn")
        #expect(
            throws: AdapterError.invalidSetup("'bn' is a bottleneck adapter: only LoRA adapters can be merged into the weights")
        ) { try model.mergeAdapter("bn") }
        #expect(throws: Self.noActiveHead) { try model.logits(batch) }
        #expect(throws: AdapterError.invalidSetup("Stack[bn, bn] names an adapter twice")) {
            try model.setActiveAdapters(.stack("bn", "bn"))
        }
        try model.addClassificationHead("bn", labels: ["x", "y"])
        // Full fine-tuning is not mixed with active adapters.
        #expect(
            throws: AdapterError.invalidSetup(
                "full fine-tuning with active adapters is not supported: deactivate them, or call trainAdapter")
        ) { try model.trainingModel() }
        try model.setActiveAdapters(nil)
        #expect(try model.trainingModel().mode == .full)
        model.freezeBase()
        #expect(try model.trainingModel().mode == .headOnly)
        // A folder for another model type is refused by loadAdapter as by the single-adapter loader.
        let bertOnRoberta = Fixtures.url("lifecycle/stack_seq_bn/task")
        let bert = ModelWithAdapters(base: try AdapterInteropTests.base(architecture: "bert"))
        #expect(
            throws: AdapterError.incompatible(
                detail: "\(bertOnRoberta.appendingPathComponent("adapter_config.json").path): the adapter is for model type 'roberta', the model is 'bert'")
        ) { try bert.loadAdapter(from: bertOnRoberta) }
    }

    /// transformers' `TextClassificationPipeline` on the real MiniLM with a Python-saved adapter.
    @Test func pipelineGivesTransformersLabelsAndScores() throws {
        let pretrained = try PretrainedModel(folder: Fixtures.miniLM)
        let tokenizer = try #require(pretrained.tokenizer)
        let model = ModelWithAdapters(base: pretrained.encoder)
        try model.loadAdapter(from: Fixtures.url("lifecycle/pipeline_minilm/sentiment"), setActive: true)
        let json = try Fixtures.json("lifecycle/pipeline_minilm/expected.json")
        let texts = json["texts"] as? [String] ?? []
        #expect(texts.count == 8)
        let classify = TextClassificationPipeline(
            classifier: model, tokenizer: tokenizer, config: pretrained.config, batchSize: 3)
        func compare(_ ours: [[LabelScore]], _ theirs: [[[String: Any]]]) {
            #expect(ours.count == theirs.count)
            for (o, t) in zip(ours, theirs) {
                #expect(o.map(\.label) == t.map { $0["label"] as? String ?? "" })
                #expect(maxAbsDifference(o.map(\.score), t.map { Float(($0["score"] as? Double) ?? -1) }) <= 1e-4)
            }
        }
        compare(try classify(texts), (json["top_1"] as? [[String: Any]] ?? []).map { [$0] })
        compare(try classify(texts, topK: nil), json["top_k_none"] as? [[[String: Any]]] ?? [])
        compare(try classify(texts, topK: 2), json["top_2"] as? [[[String: Any]]] ?? [])
        #expect(try classify(texts[0]) == (try classify([texts[0]]))[0])
        let strict = TextClassificationPipeline(
            classifier: model, tokenizer: tokenizer, config: pretrained.config, truncation: false)
        #expect(
            throws: InferenceError.invalidInput(
                path: "pipeline input", line: nil,
                detail: "input 7 has 722 tokens, the model takes at most 512: enable truncation")
        ) { try strict(texts) }
        #expect(throws: InferenceError.invalidInput(path: "pipeline", line: nil, detail: "topK must be at least 1, got 0")) {
            try classify(texts, topK: 0)
        }
    }
}
