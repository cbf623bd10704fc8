import Adapters
import Encoders
import Foundation
import Kernels
import Logging
import ModelIO

extension AdapterModel {
    /// AdapterHub's model class name for this architecture's flex-head model.
    public var adapterModelClass: String { config.modelType == .roberta ? "RobertaAdapterModel" : "BertAdapterModel" }

    /// Loads an AdapterHub adapter folder (adapter + head) onto `base`. Every tensor the adapter's
    /// config implies must be present with its exact shape, and nothing else; the adapter must be
    /// for this model type and hidden size.
    public static func load(adapterFolder: URL, base: EncoderModel, logger: Logger? = nil) throws -> AdapterModel {
        try read(adapterFolder: adapterFolder, base: base, requireHead: true, logger: logger).model
    }

    /// The placeholder head of an adapter saved without one (`save_adapter(..., with_head=False)`):
    /// it gives the model something to run, and is never saved or reported.
    static let placeholderHeadName = "__no_head__"

    /// Reads an AdapterHub folder; without `requireHead`, a folder with no `head_config.json`
    /// loads with a placeholder head and `hasHead` false.
    ///
    /// `adapters` 1.3 picks the tensors it saves for head `NAME` by the substring `heads.NAME`, with no
    /// dot after the name, so a model that also held `NAME_r4` wrote that head's tensors into `NAME`'s
    /// file as well (Python's loader drops them again). Tensors of such a prefix-sharing neighbour —
    /// head or adapter — are skipped and named once in the log; any other unexpected tensor is an error.
    static func read(
        adapterFolder: URL, base: EncoderModel, requireHead: Bool, logger: Logger? = nil
    ) throws -> (model: AdapterModel, hasHead: Bool) {
        let saved = try AdapterHubAdapter(folder: adapterFolder)
        let configPath = adapterFolder.appendingPathComponent("adapter_config.json").path
        if let type = saved.modelType, type != base.config.modelType.rawValue {
            throw AdapterError.incompatible(detail: "\(configPath): the adapter is for model type '\(type)', the model is '\(base.config.modelType.rawValue)'")
        }
        if let h = saved.hiddenSize, h != base.config.hiddenSize {
            throw AdapterError.incompatible(detail: "\(configPath): the adapter is for hidden size \(h), the model has \(base.config.hiddenSize)")
        }
        if saved.head == nil && requireHead {
            throw AdapterError.incompatible(detail: "\(adapterFolder.path): no head_config.json; a classification adapter needs its head")
        }
        let config = saved.config.map { Self.matchingSavedPrefixForm($0, weights: saved.weights, path: configPath, logger: logger) }
        let headSpec = saved.head.map { HeadSpec(name: $0.name, labels: $0.labels, dropout: 0, config: $0.config) }
            ?? HeadSpec(name: placeholderHeadName, labels: ["0", "1"], dropout: 0)
        // A head-only folder (`save_head`, `train --method head`) runs the base with that head.
        let mode: TrainingMode = config.map { .adapter(name: saved.name, config: $0) } ?? .headOnly
        let model = try AdapterModel(base: base, mode: mode, head: headSpec)
        let prefix = base.config.modelType.rawValue + "."
        // Tensor names in the file may carry another (or no) model prefix: key them by what follows. AdapterHub's
        // prefix-tuning pool is one module reached from every layer, so its state dict repeats each tensor under
        // `…encoder.layer.N.attention.self.prefix_tuning.pool.prefix_tunings.…` and `…prefix_tuning.prefix_tunings.…`:
        // all copies key alike, and the repeats are skipped.
        func key(_ name: String) -> String {
            if let r = name.range(of: "prefix_tunings.") { return String(name[r.lowerBound...]) }
            if let r = name.range(of: "encoder.layer.") { return String(name[r.lowerBound...]) }
            return name
        }
        var consumed: Set<String> = []
        var expected: [String: AdapterModel.SavedEntry] = [:]
        for e in model.savedEntries where saved.head != nil || !e.name.hasPrefix("heads.") { expected[key(e.name)] = e }
        var sources: [(TensorSource, String, String)] = []
        if let weights = saved.weights, let path = saved.weightsPath { sources.append((weights, path, saved.name)) }
        if let head = saved.head { sources.append((head.weights, head.weightsPath, head.name)) }
        for (source, path, owner) in sources {
            var foreign: [String] = []
            for name in source.tensorNames {
                guard let e = expected.removeValue(forKey: key(name)) else {
                    if consumed.contains(key(name)) { continue }
                    if let other = AdapterHubNames.owner(ofTensor: name), other != owner, other.hasPrefix(owner) {
                        foreign.append(name)
                        continue
                    }
                    throw AdapterError.incompatible(detail: "\(path): unexpected tensor '\(name)' for this adapter configuration")
                }
                guard source.shape(of: name) == e.shape else {
                    throw EncoderError.weightShapeMismatch(source: path, name: name, expected: e.shape, found: source.shape(of: name) ?? [])
                }
                try source.readFloats(name, into: e.value)
                consumed.insert(key(name))
            }
            if !foreign.isEmpty {
                let owners = Set(foreign.compactMap { AdapterHubNames.owner(ofTensor: $0) }).sorted()
                logger?.info(
                    "\(path): skipping \(foreign.count) tensor(s) of \(owners.map { "'\($0)'" }.joined(separator: ", ")), saved beside '\(owner)' by the Python library: \(foreign.sorted().joined(separator: ", "))")
            }
        }
        if let missing = expected.keys.sorted().first {
            let file = (missing.hasPrefix("heads.") ? saved.head?.weightsPath : saved.weightsPath) ?? adapterFolder.path
            throw EncoderError.missingWeight(source: file, name: missing.hasPrefix("heads.") ? missing : prefix + missing)
        }
        return (model, saved.head != nil)
    }

    /// `adapters` 1.3's `eject_prefix_tuning` makes a prefix flat without updating the adapter's config, so its
    /// `save_adapter` writes `"flat": false` beside a flat `control_trans`. The tensors decide: such a config is
    /// read as flat (and said once).
    static func matchingSavedPrefixForm(
        _ config: AdapterConfig, weights: TensorSource?, path: String, logger: Logger?
    ) -> AdapterConfig {
        guard let weights, weights.tensorNames.contains(where: { $0.hasSuffix(".self_prefix.control_trans") }),
            let flat = config.withFlatPrefix
        else { return config }
        logger?.info("\(path): the prefix is saved in its flat form (an ejected prefix); reading it as flat")
        return flat
    }

    /// The adapter's and the head's tensors, as AdapterHub names them.
    func namedTensors() -> (adapter: [SafetensorsWriter.Tensor], head: [SafetensorsWriter.Tensor]) {
        var adapter: [SafetensorsWriter.Tensor] = []
        var headTensors: [SafetensorsWriter.Tensor] = []
        for e in savedEntries {
            let t = SafetensorsWriter.Tensor(name: e.name, shape: e.shape, values: Array(UnsafeBufferPointer(start: e.value, count: e.count)))
            if e.name.hasPrefix("heads.") {
                headTensors.append(t)
            } else if AdapterHubNames.owner(ofTensor: e.name) != nil {
                adapter.append(t)
            }
        }
        return (adapter, headTensors)
    }

    /// Writes the adapter and its head as an AdapterHub folder (`adapter_config.json`,
    /// `adapter.safetensors`, `head_config.json`, `model_head.safetensors`), atomically.
    public func saveAdapterHub(to folder: URL, modelName: String) throws {
        let (adapterTensors, headTensors) = namedTensors()
        var name = head.name
        var adapterConfig: AdapterConfig?
        if case .adapter(let n, let c) = mode {
            name = n
            adapterConfig = c
        }
        try AdapterHubFolder.save(
            to: folder, adapterName: name, config: adapterConfig,
            model: .init(modelType: config.modelType.rawValue, hiddenSize: config.hiddenSize, modelName: modelName, modelClass: adapterModelClass),
            adapterTensors: adapterTensors, head: .init(name: head.name, labels: head.labels, config: head.config, tensors: headTensors))
    }

    /// The files a tokenizer may come from.
    public static let tokenizerFiles = [
        "tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json",
    ]

    /// Full fine-tuning: writes an HF `*ForSequenceClassification` folder (`config.json` from the
    /// original with `architectures`, `id2label`, `label2id` set, and `model.safetensors`). The
    /// AdapterHub head maps onto HF's: RoBERTa `classifier.dense`/`classifier.out_proj`; BERT's
    /// pooler (dense + tanh) and `classifier` — the same computation at inference. The tokenizer files of
    /// `tokenizerFolder` go along (their contents: a Hub snapshot holds symbolic links into its blobs), so the
    /// folder is usable on its own.
    public func saveHFModel(to folder: URL, originalConfig: Data, tokenizerFolder: URL? = nil) throws {
        guard var json = (try? JSONSerialization.jsonObject(with: originalConfig)) as? [String: Any] else {
            throw TrainingError.output(path: folder.path, detail: "the base model's config.json is not a JSON object")
        }
        let roberta = config.modelType == .roberta
        let tokens = head.type == .tagging || head.type == .questionAnswering
        // transformers' task models: `*ForSequenceClassification` (its head is AdapterHub's 2-layer tanh head:
        // RoBERTa's classifier, BERT's pooler + classifier), `*ForTokenClassification` and `*ForQuestionAnswering`
        // (one linear layer: `classifier`, `qa_outputs`).
        guard tokens ? head.config.layers == 1 : (head.config.layers == 2 && head.config.activation == .tanh) else {
            throw TrainingError.output(
                path: folder.path,
                detail: "a \(head.config.layers)-layer \(head.config.activation.rawValue) \(head.type.rawValue) head has no transformers model class (sequence heads: 2 layers, tanh; tagging and question answering: 1 layer)")
        }
        let choices = head.type == .multipleChoice
        let task =
            head.type == .questionAnswering
            ? "QuestionAnswering" : tokens ? "TokenClassification" : choices ? "MultipleChoice" : "SequenceClassification"
        json["architectures"] = [(roberta ? "Roberta" : "Bert") + "For" + task]
        switch head.type {
        case .multipleChoice: json["problem_type"] = nil
        case .multilabelClassification: json["problem_type"] = "multi_label_classification"
        case .classification where head.isRegression: json["problem_type"] = "regression"
        case .classification: json["problem_type"] = "single_label_classification"
        case .tagging, .questionAnswering: json["problem_type"] = nil
        }
        json["id2label"] = Dictionary(uniqueKeysWithValues: head.labels.enumerated().map { (String($0.offset), $0.element) })
        json["label2id"] = Dictionary(uniqueKeysWithValues: head.labels.enumerated().map { ($0.element, $0.offset) })
        let prefix = config.modelType.rawValue + "."
        var tensors: [SafetensorsWriter.Tensor] = []
        for b in base.weights.bindings where !b.name.hasPrefix("pooler.") {
            let count = b.shape.reduce(1, *)
            tensors.append(.init(name: prefix + b.name, shape: b.shape, values: Array(UnsafeBufferPointer(start: base.weights.pointer(b.slot) + b.offset, count: count))))
        }
        // `*ForMultipleChoice` has the pooler (RoBERTa's too) and a [1, C] classifier: AdapterHub's 2-layer head.
        let headNames =
            head.type == .questionAnswering ? ["qa_outputs.weight", "qa_outputs.bias"]
            : tokens ? ["classifier.weight", "classifier.bias"]
            : choices ? [prefix + "pooler.dense.weight", prefix + "pooler.dense.bias", "classifier.weight", "classifier.bias"]
            : roberta
                ? ["classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"]
                : [prefix + "pooler.dense.weight", prefix + "pooler.dense.bias", "classifier.weight", "classifier.bias"]
        let ours = head.tensorShapes(hiddenSize: config.hiddenSize).map(\.name)
        for (ours, theirs) in zip(ours, headNames) {
            guard let e = parameters.entry(named: ours) else { continue }
            tensors.append(.init(name: theirs, shape: e.shape, values: Array(UnsafeBufferPointer(start: e.value, count: e.count))))
        }
        let fm = FileManager.default
        let staging = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
            try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
                .write(to: staging.appendingPathComponent("config.json"))
            try SafetensorsWriter.encode(tensors, metadata: ["format": "pt"]).write(to: staging.appendingPathComponent("model.safetensors"))
            for name in Self.tokenizerFiles {
                guard let source = tokenizerFolder?.appendingPathComponent(name), fm.fileExists(atPath: source.path) else {
                    continue
                }
                try fm.copyItem(at: source.resolvingSymlinksInPath(), to: staging.appendingPathComponent(name))
            }
            if fm.fileExists(atPath: folder.path) { try fm.removeItem(at: folder) }
            try fm.moveItem(at: staging, to: folder)
        } catch {
            try? fm.removeItem(at: staging)
            throw TrainingError.output(path: folder.path, detail: "cannot write the model folder: \(fileErrorText(error))")
        }
    }
}
