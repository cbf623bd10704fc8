import Adapters
import Encoders
import Foundation
import Kernels
import ModelIO
import TestSupport
import Testing
import Training

/// Adapters saved by the Python `adapters` library load here with the same logits, and ours
/// load back identically (tools/make_adapterhub_fixtures.py).
@Suite("AdapterHub interoperability")
struct AdapterInteropTests {
    static func base(dropout: Float = 0, architecture: String = "roberta") throws -> EncoderModel {
        let folder = Fixtures.url("training/base-\(architecture)")
        let configPath = folder.appendingPathComponent("config.json").path
        var config = try EncoderConfig.decode(try Data(contentsOf: URL(fileURLWithPath: configPath)), path: configPath)
        config.hiddenDropoutProb = dropout
        config.attentionProbsDropoutProb = dropout
        let weights = folder.appendingPathComponent("model.safetensors").path
        return try EncoderModel.load(config: config, source: try SafetensorsFile(path: weights), sourceName: weights)
    }

    static func expected(_ method: String) throws -> (TokenBatch, [Float]) {
        let json = try Fixtures.json("adapterhub/\(method)/expected.json")
        let ids = (json["input_ids"] as? [Any] ?? []).map(int32s)
        let mask = (json["attention_mask"] as? [Any] ?? []).map(int32s)
        let logits = (json["logits"] as? [Any] ?? []).flatMap(floats)
        let batch = try TokenBatch(
            batchSize: ids.count, sequenceLength: ids.first?.count ?? 0, inputIds: ids.flatMap { $0 },
            attentionMask: mask.flatMap { $0 })
        return (batch, logits)
    }

    static let methods = [
        "seq_bn", "double_seq_bn", "lora", "par_bn", "scaled_par_bn", "ia3", "lora_ffn", "compacter", "compacter_pp",
        "seq_bn_inv", "union", "prompt_tuning", "dora", "prefix_tuning", "mam", "unipelt", "loreft", "noreft", "direft",
        "vera", "adapterplus", "dvora",
    ]

    @Test(arguments: methods)
    func pythonSavedAdaptersGiveTheSameLogits(method: String) throws {
        let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\(method)"), base: try Self.base())
        let (batch, reference) = try Self.expected(method)
        #expect(reference.count == 4)
        #expect(maxAbsDifference(try model.logits(batch), reference) <= 1e-4)
        #expect(model.head.labels == ["negative", "positive"])

        // Saved again by us, loaded again: identical.
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("rt")
        try model.saveAdapterHub(to: out, modelName: "tiny-roberta")
        let again = try AdapterModel.load(adapterFolder: out, base: try Self.base())
        #expect(try again.logits(batch) == (try model.logits(batch)))
        let ours = try String(contentsOf: out.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        let theirs = try String(contentsOf: Fixtures.url("adapterhub/\(method)/adapter_config.json"), encoding: .utf8)
        #expect(ours == theirs)
    }

    /// The same adapters saved as torch.save pickles (`save_adapter` without safetensors) give the same
    /// logits; switching the adapter off moves them by far more than the tolerance (the fixture's margin).
    @Test(arguments: [
        "par_bn", "scaled_par_bn", "ia3", "lora_ffn", "compacter", "compacter_pp", "seq_bn_inv", "union", "prompt_tuning", "dora",
        "prefix_tuning", "mam", "unipelt", "loreft", "noreft", "direft", "vera", "adapterplus", "dvora",
    ])
    func pythonPickledAdaptersGiveTheSameLogits(method: String) throws {
        let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\(method)-pickle"), base: try Self.base())
        let (batch, reference) = try Self.expected(method)
        let ours = try model.logits(batch)
        #expect(maxAbsDifference(ours, reference) <= 1e-4)
        let json = try Fixtures.json("adapterhub/\(method)/expected.json")
        let margin = (json["margin_without_adapter"] as? NSNumber)?.floatValue ?? 0
        #expect(margin > 100 * 1e-4, "the fixture's adapter hardly matters: \(margin)")
        // The config string in the fixture builds the configuration Python saved.
        let fromString = try AdapterConfig.parse(json["config_string"] as? String ?? "", source: "fixture")
        let adapter = try AdapterHubAdapter(folder: Fixtures.url("adapterhub/\(method)-pickle"))
        #expect(adapter.config == fromString)
    }

    /// `eject_prefix_tuning` in Python, then `save_adapter`: adapters 1.3.0 writes the flat `control_trans` beside a
    /// config that still says `"flat": false`. The tensors decide here: the folders load as flat prefixes with
    /// Python's logits, and saved again they say `"flat": true`.
    @Test(arguments: ["prefix_tuning_ejected", "prefix_tuning_ejected-pickle"])
    func pythonEjectedPrefixLoadsAsFlat(folder: String) throws {
        let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\(folder)"), base: try Self.base())
        guard case .adapter(_, .prefixTuning(let pc)) = model.mode else {
            Issue.record("not a prefix-tuning adapter: \(model.mode)")
            return
        }
        #expect(pc.flat)
        let (batch, reference) = try Self.expected("prefix_tuning_ejected")
        #expect(maxAbsDifference(try model.logits(batch), reference) <= 1e-4)
        let json = try Fixtures.json("adapterhub/prefix_tuning_ejected/expected.json")
        let fromString = try AdapterConfig.parse(json["config_string"] as? String ?? "", source: "fixture")
        #expect(AdapterConfig.prefixTuning(pc) == fromString)
        let out = try Fixtures.temporaryFolder().appendingPathComponent("rt")
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        try model.saveAdapterHub(to: out, modelName: "tiny-roberta")
        let saved = try String(contentsOf: out.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        #expect(saved.contains("\"flat\": true"))
    }

    /// `ejectPrefixTuning` (AdapterHub's `eject_prefix_tuning`) keeps the logits, leaves one flat tensor for the
    /// prefix (a MAM's bottleneck untouched), and the ejected adapter saves and loads as such.
    @Test(arguments: ["prefix_tuning", "mam"])
    func ejectingThePrefixKeepsTheLogits(method: String) throws {
        let model = ModelWithAdapters(base: try Self.base(), modelName: "tiny-roberta")
        let name = try model.loadAdapter(from: Fixtures.url("adapterhub/\(method)"), setActive: true)
        try model.setActiveHead(name)
        let (batch, reference) = try Self.expected(method)
        let before = try model.logits(batch)
        #expect(maxAbsDifference(before, reference) <= 1e-4)
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.saveAdapter(to: folder.appendingPathComponent("before"), name: name)
        try model.ejectPrefixTuning(name)
        #expect(maxAbsDifference(try model.logits(batch), before) <= 1e-5)
        #expect(model.adapterConfig(name)?.members.contains { if case .prefixTuning(let pc) = $0 { pc.flat } else { false } } == true)
        #expect(throws: AdapterError.self) { try model.ejectPrefixTuning(name) }
        let out = folder.appendingPathComponent("after")
        try model.saveAdapter(to: out, name: name)
        let old = try SafetensorsFile(path: folder.appendingPathComponent("before/adapter.safetensors").path)
        let new = try SafetensorsFile(path: out.appendingPathComponent("adapter.safetensors").path)
        #expect(new.tensorNames.filter { $0.contains(".self_prefix.") } == ["roberta.prefix_tuning.prefix_tunings.\(name).self_prefix.control_trans"])
        for tensor in old.tensorNames where !tensor.contains(".self_prefix.") {
            #expect(try ReferenceParityTests.read(new, tensor) == (try ReferenceParityTests.read(old, tensor)))
        }
        let again = try AdapterModel.load(adapterFolder: out, base: try Self.base())
        #expect(maxAbsDifference(try again.logits(batch), before) <= 1e-5)
    }

    /// A gate depends on each sequence, so no fixed weight holds a gated LoRA: merging it is refused.
    @Test func gatedLoRACannotBeMerged() throws {
        let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/unipelt"), base: try Self.base())
        #expect(throws: AdapterError.incompatible(detail: "a gated LoRA (use_gating, as in UniPELT) cannot be merged into the weights")) {
            try model.mergeLoRA()
        }
    }

    @Test(arguments: methods)
    func logitsMatchTheFullPass(method: String) throws {
        // logits() runs the last layer for the first tokens only; a step without dropout keeps
        // every token's states (for its backward pass) and must give the same logits.
        let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\(method)"), base: try Self.base())
        let (batch, _) = try Self.expected(method)
        let labels = [Int32](repeating: 0, count: batch.batchSize)
        let full = try model.step(batch, labels: labels, seed: 0, training: false, backward: true).logits
        #expect(maxAbsDifference(try model.logits(batch), full) <= 1e-6)
    }

    @Test func incompatibleFoldersAreTypedErrors() throws {
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let fm = FileManager.default
        func copy(_ name: String) throws -> URL {
            let dst = tmp.appendingPathComponent(UUID().uuidString)
            try fm.copyItem(at: Fixtures.url("adapterhub/\(name)"), to: dst)
            return dst
        }
        // Missing head config.
        var folder = try copy("seq_bn")
        try fm.removeItem(at: folder.appendingPathComponent("head_config.json"))
        #expect(throws: AdapterError.incompatible(detail: "\(folder.path): no head_config.json; a classification adapter needs its head")) {
            try AdapterModel.load(adapterFolder: folder, base: try Self.base())
        }
        // Adapter for another model type.
        folder = try copy("seq_bn")
        let configURL = folder.appendingPathComponent("adapter_config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"model_type\": \"roberta\"", with: "\"model_type\": \"bert\"").write(
            to: configURL, atomically: true, encoding: .utf8)
        #expect(
            throws: AdapterError.incompatible(
                detail: "\(configURL.path): the adapter is for model type 'bert', the model is 'roberta'")
        ) { try AdapterModel.load(adapterFolder: folder, base: try Self.base()) }
        // Unknown method / unsupported field.
        try text.replacingOccurrences(of: "\"ln_after\": false", with: "\"ln_after\": true").write(
            to: configURL, atomically: true, encoding: .utf8)
        #expect(throws: AdapterError.unsupported(source: configURL.path, field: "ln_after", value: "true")) {
            try AdapterModel.load(adapterFolder: folder, base: try Self.base())
        }
        // Wrong shapes: a seq_bn file read with a config whose reduction factor differs.
        try text.replacingOccurrences(of: "\"reduction_factor\": 16", with: "\"reduction_factor\": 8").write(
            to: configURL, atomically: true, encoding: .utf8)
        // (hidden size 48: a bottleneck of 48 / 8 = 6 expected, 48 / 16 = 3 in the file)
        #expect(
            throws: EncoderError.weightShapeMismatch(
                source: folder.appendingPathComponent("adapter.safetensors").path,
                name: "roberta.encoder.layer.0.output.adapters.rt.adapter_down.0.bias", expected: [6], found: [3])
        ) { try AdapterModel.load(adapterFolder: folder, base: try Self.base()) }
        // No folder.
        let none = tmp.appendingPathComponent("none")
        #expect(throws: ModelIOError.fileNotFound(path: none.path)) {
            try AdapterModel.load(adapterFolder: none, base: try Self.base())
        }
    }

    @Test func fullFineTuningExportsAnHFModelFolder() throws {
        let base = try Self.base()
        let model = try AdapterModel(
            base: base, mode: .full, head: HeadSpec(name: "task", labels: ["a", "b"], dropout: 0))
        model.initializeTrainable(seed: 4)
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        // The tokenizer comes from a folder laid out like a Hub snapshot: relative links into `blobs/`.
        let fm = FileManager.default
        let blobs = tmp.appendingPathComponent("hub/blobs")
        let snapshot = tmp.appendingPathComponent("hub/snapshots/abc")
        try fm.createDirectory(at: blobs, withIntermediateDirectories: true)
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        let tokenizerText = Data("{\"version\": \"1.0\"}".utf8)
        try tokenizerText.write(to: blobs.appendingPathComponent("0123"))
        try fm.createSymbolicLink(
            atPath: snapshot.appendingPathComponent("tokenizer.json").path, withDestinationPath: "../../blobs/0123")
        let out = tmp.appendingPathComponent("model")
        try model.saveHFModel(
            to: out, originalConfig: try Data(contentsOf: Fixtures.url("training/base-roberta/config.json")),
            tokenizerFolder: snapshot)
        // A copy of the contents, not a link that dangles once the folder moves.
        let copied = out.appendingPathComponent("tokenizer.json")
        #expect((try? fm.destinationOfSymbolicLink(atPath: copied.path)) == nil)
        #expect(try Data(contentsOf: copied) == tokenizerText)
        #expect(!fm.fileExists(atPath: out.appendingPathComponent("vocab.json").path))
        let configPath = out.appendingPathComponent("config.json").path
        let config = try EncoderConfig.decode(try Data(contentsOf: URL(fileURLWithPath: configPath)), path: configPath)
        let exported = try EncoderModel.load(
            config: config, source: try SafetensorsFile(path: out.appendingPathComponent("model.safetensors").path),
            sourceName: "export")
        let (batch, _) = try Self.expected("seq_bn")
        #expect(exported.head?.labels == ["a", "b"])
        #expect(maxAbsDifference(try exported.classify(batch), try model.logits(batch)) < 1e-6)
    }
}

@Suite("LoRA merge")
struct LoRAMergeTests {
    /// LoRA, VeRA (`W += s·V_B·B·V_D·A`) and DVoRA (then rescaled by DoRA's m / ‖W + ΔW‖).
    @Test(arguments: ["lora", "vera", "dvora"])
    func mergeKeepsLogitsAndUnmergeRestoresTheBase(method: String) throws {
        let base = try AdapterInteropTests.base()
        let before = base.weights.arena.checksum()
        let snapshot = Array(
            UnsafeBufferPointer(
                start: base.weights.arena.pointer(base.weights.arena.slots[0]), count: base.weights.arena.capacity))
        let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\(method)"), base: base)
        let (batch, reference) = try AdapterInteropTests.expected(method)
        let unmerged = try model.logits(batch)
        try model.mergeLoRA()
        #expect(base.weights.arena.checksum() != before)
        #expect(maxAbsDifference(try model.logits(batch), unmerged) <= 1e-5)
        #expect(maxAbsDifference(try model.logits(batch), reference) <= 1e-4)
        #expect(
            throws: EncoderError.invalidInput("the LoRA adapter is merged into the base weights: unmerge it before training")
        ) { try model.step(batch, labels: [0, 1], seed: 0) }
        #expect(throws: AdapterError.incompatible(detail: "the LoRA adapter is already merged")) { try model.mergeLoRA() }
        try model.unmergeLoRA()
        // Restored bit for bit, not merely within rounding.
        let after = Array(
            UnsafeBufferPointer(
                start: base.weights.arena.pointer(base.weights.arena.slots[0]), count: base.weights.arena.capacity))
        #expect(after == snapshot)
        #expect(base.weights.arena.checksum() == before)
        #expect(try model.logits(batch) == unmerged)
        let seqbn = try AdapterModel.load(
            adapterFolder: Fixtures.url("adapterhub/seq_bn"), base: try AdapterInteropTests.base())
        #expect(throws: AdapterError.incompatible(detail: "only LoRA adapters can be merged")) { try seqbn.mergeLoRA() }
    }
}

@Suite("AdapterHub pickle (.bin) folders")
struct PickleAdapterTests {
    @Test(arguments: ["seq_bn_bin", "lora_bin"])
    func binAdaptersLoadLikeTheirSafetensorsTwins(folder: String) throws {
        let model = try AdapterModel.load(
            adapterFolder: Fixtures.url("pickle/\(folder)"), base: try AdapterInteropTests.base())
        let reference = try SafetensorsFile(path: Fixtures.url("pickle/\(folder)/reference.safetensors").path)
        for name in reference.tensorNames {
            #expect(model.tensor(name) == (try ReferenceParityTests.read(reference, name)), "\(name)")
        }
    }
}

@Suite("The base model is restored exactly")
struct BaseRestoredTests {
    @Test(arguments: AdapterInteropTests.methods)
    func loadingRunningAndDroppingAnAdapterLeavesTheBaseBitIdentical(method: String) throws {
        let base = try AdapterInteropTests.base()
        let fresh = try AdapterInteropTests.base()
        let (batch, _) = try AdapterInteropTests.expected(method)
        let checksum = base.weights.arena.checksum()
        let baseline = try base.forward(batch).packedHidden
        do {
            let model = try AdapterModel.load(adapterFolder: Fixtures.url("adapterhub/\(method)"), base: base)
            _ = try model.logits(batch)
            if ["lora", "ia3", "lora_ffn", "dora"].contains(method) {
                let unmerged = try model.logits(batch)
                try model.mergeLoRA()
                // Merged, the adapter is in the weights: the same logits up to rounding.
                #expect(maxAbsDifference(try model.logits(batch), unmerged) <= 1e-4)
                _ = try model.logits(batch)
                try model.unmergeLoRA()
            }
        }
        #expect(base.weights.arena.checksum() == checksum)
        #expect(base.weights.arena.checksum() == fresh.weights.arena.checksum())
        #expect(try base.forward(batch).packedHidden == baseline)
        #expect(try base.forward(batch).packedHidden == (try fresh.forward(batch).packedHidden))
    }
}

@Suite("PEFT LoRA folders")
struct PEFTTests {
    /// RoBERTa's saved classifier (dense + out_proj), and BERT's (the base's pooler + classifier).
    @Test(arguments: [("roberta", "lora_seq_cls"), ("bert", "bert_lora_seq_cls")])
    func peftLoRAGivesTheSameLogits(architecture: String, name: String) throws {
        let folder = Fixtures.url("peft/\(name)")
        let base = { try AdapterInteropTests.base(architecture: architecture) }
        let model = try AdapterModel.load(peftFolder: folder, base: try base(), labels: ["negative", "positive"])
        let json = try Fixtures.json("peft/\(name)/expected.json")
        let ids = (json["input_ids"] as? [Any] ?? []).map(int32s)
        let mask = (json["attention_mask"] as? [Any] ?? []).map(int32s)
        let batch = try TokenBatch(
            batchSize: ids.count, sequenceLength: ids.first?.count ?? 0, inputIds: ids.flatMap { $0 },
            attentionMask: mask.flatMap { $0 })
        let reference = (json["logits"] as? [Any] ?? []).flatMap(floats)
        #expect(reference.count == 4)
        #expect(maxAbsDifference(try model.logits(batch), reference) <= 1e-4)
        #expect(
            throws: AdapterError.incompatible(
                detail: "\(folder.appendingPathComponent("adapter_model.safetensors").path): the classifier has 2 labels, 1 names were given")
        ) { try AdapterModel.load(peftFolder: folder, base: try base(), labels: ["only-one"]) }
        // Through the lifecycle API too (PEFT folders are detected by their config).
        let lifecycle = ModelWithAdapters(base: try base())
        try lifecycle.loadAdapter(from: folder, setActive: true)
        #expect(maxAbsDifference(try lifecycle.logits(batch), reference) <= 1e-4)
    }
}
