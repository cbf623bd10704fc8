import Adapters
import Encoders
import Foundation
import Kernels
import Logging

/// One pre-trained encoder holding any number of named adapters and classification heads, managed
/// the way the Python `adapters` library manages them (`add_adapter`, `add_classification_head`,
/// `train_adapter`, `set_active_adapters`, `delete_adapter`, `delete_head`, `save_adapter`,
/// `load_adapter`, `merge_adapter`/`reset_adapter`, `Stack`).
///
/// The adapters' and heads' tensors are kept here by their AdapterHub names; the computation runs in
/// an `AdapterModel` built for the active setup (the "engine"), which is rebuilt when the setup
/// changes. The base weights are shared and only ever written by full fine-tuning or a LoRA merge,
/// which keeps a copy of what it overwrote: deactivating and deleting adapters leaves the base
/// bit-identical to what was loaded (`baseChecksum`).
///
/// ```swift
/// let model = ModelWithAdapters(base: pretrained.encoder, modelName: "all-MiniLM-L6-v2")
/// try model.addAdapter("rt", config: .bottleneck(.seqBn))
/// try model.addClassificationHead("rt", labels: ["negative", "positive"])
/// try model.trainAdapter("rt")                          // base frozen; adapter + head active
/// try Trainer(model: model.trainingModel(), …).run()
/// try model.saveAdapter(to: folder, name: "rt")
/// try model.setActiveAdapters(nil)
/// try model.deleteAdapter("rt", deleteHead: true, unfreezeBase: true)
/// ```
public final class ModelWithAdapters {
    public let base: EncoderModel
    /// Written into saved adapter configs (`model_name`), as AdapterHub records the base model.
    public var modelName: String
    /// Where loading reports what it skipped (a neighbour's tensors in a Python-saved folder).
    public var logger: Logger?

    struct StoredAdapter {
        var config: AdapterConfig
        /// AdapterHub tensor names (with the model prefix) → values.
        var tensors: [String: [Float]]
    }

    struct StoredHead {
        var spec: HeadSpec
        var tensors: [String: [Float]]
    }

    /// A loaded AdapterFusion layer: its config and tensors keyed from `encoder.layer.` on (any model prefix).
    struct StoredFusion {
        var config: FusionConfig
        var tensors: [String: [Float]]
    }

    /// What an engine was built for.
    struct EngineKey: Equatable {
        var adapters: [String]
        var head: String?
        var full: Bool
        /// An `Average`'s weights; nil for a single adapter or a Stack.
        var averageWeights: [Float]? = nil
        /// A `Fuse` of the adapters.
        var fuse = false
        /// A `Split`'s lengths.
        var splits: [Int]? = nil
        /// A Stack with composition blocks among its members (`AdapterSetup.isNested`).
        var nested: [AdapterSetup.Block]? = nil

        /// The AdapterFusion layers the engine runs.
        var fusionNames: [String] {
            nested.map { AdapterSetup(blocks: $0).fusionNames } ?? (fuse ? [adapters.joined(separator: ",")] : [])
        }
    }

    var adapters: [String: StoredAdapter] = [:]
    var heads: [String: StoredHead] = [:]
    /// AdapterFusion layers by name (`a,b`).
    var fusions: [String: StoredFusion] = [:]
    /// Names in the order they were added (what `adapterNames`/`headNames` report).
    public internal(set) var adapterNames: [String] = []
    public internal(set) var headNames: [String] = []
    /// The adapters that run, in order; nil runs the plain base model.
    public private(set) var activeAdapters: AdapterSetup?
    /// The head that gives `logits`; nil when none is active.
    public internal(set) var activeHead: String?
    /// Set by `trainAdapter`: the adapters a training run updates.
    public internal(set) var trainingAdapters: AdapterSetup?
    /// Whether base weights are excluded from training (`freeze_model`); `trainAdapter` freezes.
    public internal(set) var baseFrozen = false
    /// The LoRA adapter whose update is folded into the base weights, if any.
    public private(set) var mergedAdapter: String?

    var engine: AdapterModel?
    var engineKey: EngineKey?
    /// Set by `trainParallel`: the adapters trained side by side, each with its head.
    public internal(set) var trainingBranches: [String]?
    /// The trainable models of a Parallel's branches (`parallelTrainingModels`), with what each was built for.
    var branchEngines: [(key: EngineKey, model: AdapterModel)] = []

    public init(base: EncoderModel, modelName: String = "", logger: Logger? = nil) {
        self.base = base
        self.modelName = modelName
        self.logger = logger
    }

    /// FNV-1a over every base weight's bits: equal values mean a bit-identical base.
    public var baseChecksum: UInt64 { base.weights.checksum() }

    /// An adapter's configuration, or nil.
    public func adapterConfig(_ name: String) -> AdapterConfig? { adapters[name]?.config }

    /// A head's description (labels, dropout), or nil.
    public func head(_ name: String) -> HeadSpec? { heads[name]?.spec }

    // MARK: - Adding

    /// Adds an adapter in every layer (but `leaveOut`), initialised as AdapterHub's `init_weights`
    /// does, seeded. Like `add_adapter`, it is not activated unless `setActive`.
    public func addAdapter(
        _ name: String, config: AdapterConfig = .bottleneck(.seqBn), seed: UInt64 = 42, overwrite: Bool = false,
        setActive: Bool = false
    ) throws {
        try checkName(name)
        if adapters[name] != nil && !overwrite { throw AdapterError.alreadyExists(name) }
        try resetMerge()
        let scratch = try AdapterModel(
            base: base, mode: .adapter(name: name, config: config), head: Self.placeholderHead)
        scratch.initializeTrainable(seed: seed)
        if adapters[name] != nil { try deleteAdapter(name) }
        adapters[name] = StoredAdapter(config: config, tensors: scratch.tensors { !$0.hasPrefix("heads.") })
        adapterNames.append(name)
        if setActive { try setActiveAdapters(AdapterSetup([name])) }
    }

    /// Adds AdapterHub's classification head (dropout → dense → tanh → dropout → out on the first
    /// token) with one output per label, and makes it the active head (`set_active=True`, the
    /// library's default). Dropout defaults to `classifier_dropout`, else `hidden_dropout_prob`.
    public func addClassificationHead(
        _ name: String, labels: [String], dropout: Float? = nil, seed: UInt64 = 42, overwrite: Bool = false,
        setActive: Bool = true
    ) throws {
        guard labels.count >= 2 else {
            throw AdapterError.invalidSetup(
                "head '\(name)': a classification head needs at least 2 labels, got \(labels.count) (a regression head: addRegressionHead)")
        }
        try addHead(
            name, config: HeadConfig(type: .classification), labels: labels, dropout: dropout, seed: seed, overwrite: overwrite,
            setActive: setActive)
    }

    /// `add_classification_head(name, num_labels=1)`: one real value per sequence, trained with MSE.
    public func addRegressionHead(
        _ name: String, label: String = "LABEL_0", dropout: Float? = nil, seed: UInt64 = 42, overwrite: Bool = false,
        setActive: Bool = true
    ) throws {
        try addHead(
            name, config: HeadConfig(type: .classification), labels: [label], dropout: dropout, seed: seed, overwrite: overwrite,
            setActive: setActive)
    }

    /// Any head (`add_classification_head(multilabel=True)`, `add_tagging_head`, …): `config` gives its type,
    /// layers and activation; its tensors are drawn as AdapterHub draws them (seeded).
    public func addHead(
        _ name: String, config: HeadConfig, labels: [String], dropout: Float? = nil, seed: UInt64 = 42,
        overwrite: Bool = false, setActive: Bool = true
    ) throws {
        try checkName(name, head: true)
        guard !labels.isEmpty else { throw AdapterError.invalidSetup("head '\(name)': no labels") }
        guard Set(labels).count == labels.count else {
            throw AdapterError.invalidSetup("head '\(name)': the labels \(labels) repeat a name")
        }
        if config.type != .classification && labels.count < 2 && config.type != .multilabelClassification {
            throw AdapterError.invalidSetup("head '\(name)': a \(config.type.rawValue) head needs at least 2 labels")
        }
        try config.validate(source: "head '\(name)'")
        if heads[name] != nil && !overwrite { throw AdapterError.headAlreadyExists(name) }
        let spec = HeadSpec(
            name: name, labels: labels,
            dropout: dropout ?? base.config.classifierDropout ?? base.config.hiddenDropoutProb, config: config)
        let scratch = try AdapterModel(base: base, mode: .headOnly, head: spec)
        scratch.initializeTrainable(seed: seed)
        if heads[name] != nil { try deleteHead(name) }
        heads[name] = StoredHead(spec: spec, tensors: scratch.tensors { $0.hasPrefix("heads.") })
        headNames.append(name)
        if setActive { try setActiveHead(name) }
    }

    /// `add_classification_head(name, num_labels=n, id2label=…)`: labels from `id2label`, else
    /// `LABEL_0…`.
    public func addClassificationHead(
        _ name: String, numLabels: Int, id2label: [Int: String]? = nil, seed: UInt64 = 42, overwrite: Bool = false
    ) throws {
        let labels = (0..<numLabels).map { id2label?[$0] ?? "LABEL_\($0)" }
        try addClassificationHead(name, labels: labels, seed: seed, overwrite: overwrite)
    }

    // MARK: - Activating and training

    /// Runs `setup` at every layer from now on (nil: the plain base model). Like the Python library,
    /// it undoes a LoRA merge first and activates the head named like the setup's last adapter when
    /// there is one; with nil the active head stays.
    public func setActiveAdapters(_ setup: AdapterSetup?) throws {
        if let setup {
            guard !setup.names.isEmpty else {
                throw AdapterError.invalidSetup("an adapter setup needs at least one adapter")
            }
            guard Set(setup.names).count == setup.names.count else {
                throw AdapterError.invalidSetup("\(setup) names an adapter twice")
            }
            try checkLoaded(setup)
        }
        try resetMerge()
        activeAdapters = setup
        if let head = setup.flatMap(headName) { activeHead = head }
    }

    /// Every adapter `setup` names is loaded, and the AdapterFusion layer of each of its Fuse blocks.
    func checkLoaded(_ setup: AdapterSetup) throws {
        for name in setup.names where adapters[name] == nil { throw AdapterError.unknownAdapter(name) }
        for fusion in setup.fusionNames where fusions[fusion] == nil {
            throw AdapterError.invalidSetup("no AdapterFusion '\(fusion)' is loaded (loadAdapterFusion)")
        }
    }

    /// Makes `name` the head that `logits` runs (nil: none).
    public func setActiveHead(_ name: String?) throws {
        if let name, heads[name] == nil { throw AdapterError.unknownHead(name) }
        activeHead = name
    }

    /// `train_adapter`: freezes the base, activates `setup` (and its head), and marks its adapters
    /// as the ones `trainingModel()` updates together with the active head.
    public func trainAdapter(_ setup: AdapterSetup) throws {
        guard setup.names.count == 1, setup.averageWeights == nil, !setup.isFuse, setup.splitLengths == nil else {
            throw AdapterError.invalidSetup(
                "training \(setup) is not supported: train one adapter at a time, then stack it for inference")
        }
        try setActiveAdapters(setup)
        baseFrozen = true
        trainingAdapters = setup
        trainingBranches = nil
    }

    /// `freeze_model(frozen)`: whether training may update the base weights.
    public func freezeBase(_ frozen: Bool = true) {
        baseFrozen = frozen
        if !frozen {
            trainingAdapters = nil
            trainingBranches = nil
        }
    }

    /// The model a `Trainer` runs for the current state: after `trainAdapter`, the adapter and the
    /// active head; with the base frozen and no adapter, the head only; with the base unfrozen, full
    /// fine-tuning of the base and the head. Values it learns are read back by every later call.
    public func trainingModel() throws -> AdapterModel {
        if let branches = trainingBranches {
            throw AdapterError.invalidSetup(
                "trainParallel(\(branches)) was called: train its branches together with parallelTrainingModels()")
        }
        guard let head = activeHead else {
            throw AdapterError.invalidSetup("no active head to train: add one with addClassificationHead")
        }
        let active = activeAdapters?.names ?? []
        if let training = trainingAdapters {
            guard training.blocks == activeAdapters?.blocks else {
                throw AdapterError.invalidSetup(
                    "trainAdapter(\(training)) was called, but \(activeAdapters.map(\.description) ?? "no adapter") is active")
            }
            let model = try engine(for: Self.engineKey(training, head: head))
            if let refusal = model.composedTrainingRefusal { throw AdapterError.invalidSetup(refusal) }
            return model
        }
        if baseFrozen {
            guard active.isEmpty else {
                throw AdapterError.invalidSetup(
                    "the base is frozen and \(active) is active but not trainable: call trainAdapter")
            }
            return try engine(for: EngineKey(adapters: [], head: head, full: false))
        }
        guard active.isEmpty else {
            throw AdapterError.invalidSetup(
                "full fine-tuning with active adapters is not supported: deactivate them, or call trainAdapter")
        }
        return try engine(for: EngineKey(adapters: [], head: head, full: true))
    }

    // MARK: - Running

    /// Logits `[B, labels]` of the active head over the active adapters, no dropout.
    public func logits(_ batch: TokenBatch) throws -> [Float] {
        guard activeHead != nil else {
            throw AdapterError.invalidSetup("no active head: add one with addClassificationHead or call setActiveHead")
        }
        return try inferenceEngine().logits(batch)
    }

    /// A model that runs the active setup (adapters and head) and only runs it — no gradient or optimizer
    /// memory, three times the values, which the trainable engine behind `logits` carries — for callers
    /// that keep it, such as a server batching several setups over one base (`AdapterModel.mixedLogits`).
    /// It holds its own copy of the values (what training has reached so far), so later changes to this
    /// model do not reach it; merged LoRA weights are not part of it.
    public func inferenceModel() throws -> AdapterModel {
        guard activeHead != nil else {
            throw AdapterError.invalidSetup("no active head: add one with addClassificationHead or call setActiveHead")
        }
        syncFromEngine()
        return try buildModel(for: activeSetupKey, trainable: false)
    }

    /// The last layer's hidden states `[M, C]` (attended tokens only, packed in batch order) through
    /// the active adapters: what the base model outputs when none is active.
    public func lastHiddenState(_ batch: TokenBatch) throws -> [Float] {
        try inferenceEngine().lastHiddenState(batch)
    }

    // MARK: - Deleting

    /// `delete_adapter`: removes the adapter everywhere and from the active setup. The Python library
    /// leaves its head and the frozen base as they are (a surprise for many users); here
    /// `deleteHead` also removes the head named like it, and `unfreezeBase` makes the base
    /// trainable again, so that the model is exactly the loaded one.
    public func deleteAdapter(_ name: String, deleteHead: Bool = false, unfreezeBase: Bool = false) throws {
        guard adapters[name] != nil else { throw AdapterError.unknownAdapter(name) }
        try resetMerge()
        if engineKey?.adapters.contains(name) == true || branchEngines.contains(where: { $0.key.adapters.contains(name) }) {
            dropEngine()
        }
        adapters[name] = nil
        adapterNames.removeAll { $0 == name }
        if let setup = activeAdapters, setup.names.contains(name) {
            let rest = setup.names.filter { $0 != name }
            activeAdapters = rest.isEmpty ? nil : AdapterSetup(rest)
        }
        if trainingAdapters?.names.contains(name) == true { trainingAdapters = nil }
        if trainingBranches?.contains(name) == true { trainingBranches = nil }
        if deleteHead, heads[name] != nil { try self.deleteHead(name) }
        if unfreezeBase { freezeBase(false) }
    }

    /// `delete_head`: removes the head; it stops being the active head.
    public func deleteHead(_ name: String) throws {
        guard heads[name] != nil else { throw AdapterError.unknownHead(name) }
        try resetMerge()
        if engineKey?.head == name || branchEngines.contains(where: { $0.key.head == name }) { dropEngine() }
        if trainingBranches?.contains(name) == true { trainingBranches = nil }
        heads[name] = nil
        headNames.removeAll { $0 == name }
        if activeHead == name { activeHead = nil }
    }

    // MARK: - LoRA merge

    /// Folds the active LoRA adapter `name` into the base weights (`merge_adapter`): the same
    /// logits, with no LoRA computation left. Undone by `unmergeAdapter`, by activating another
    /// setup, or by deleting it — bit-exactly.
    public func mergeAdapter(_ name: String) throws {
        guard let stored = adapters[name] else { throw AdapterError.unknownAdapter(name) }
        guard stored.config.members.contains(where: { if case .lora = $0 { true } else { false } }) else {
            throw AdapterError.invalidSetup(
                "'\(name)' is a bottleneck adapter: only LoRA adapters can be merged into the weights")
        }
        guard activeAdapters?.names == [name] else {
            throw AdapterError.invalidSetup("activate '\(name)' alone before merging it")
        }
        guard mergedAdapter == nil else {
            throw AdapterError.invalidSetup("'\(mergedAdapter ?? "")' is already merged")
        }
        try inferenceEngine().mergeLoRA()
        mergedAdapter = name
    }

    /// Restores the base weights a merge overwrote (`reset_adapter`).
    public func unmergeAdapter(_ name: String) throws {
        guard mergedAdapter == name else { throw AdapterError.invalidSetup("'\(name)' is not merged") }
        try resetMerge()
    }

    // MARK: - Summary

    /// One row of `summary()`, as `adapter_summary()` prints it.
    public struct SummaryRow: Sendable, Equatable {
        public var name: String
        public var architecture: String
        public var parameters: Int
        /// Relative to the base model's parameters, in percent.
        public var percentOfBase: Double
        public var active: Bool
        public var training: Bool
    }

    /// Every adapter with its size relative to the base, whether it is active and trained.
    public func summary() -> [SummaryRow] {
        let baseCount = Double(base.weights.arena.slots.reduce(0) { $0 + $1.count })
        return adapterNames.compactMap { name in
            guard let stored = adapters[name] else { return nil }
            // Parameters only, as adapter_summary counts them: not buffers (LoReFT's base, VeRA's shared A and B).
            let buffers = Set(
                (try? AdapterModel(
                    base: base, mode: .adapter(name: name, config: stored.config), head: Self.placeholderHead, trainable: false))?
                    .bufferSlots.map(\.name) ?? [])
            let count = stored.tensors.filter { !buffers.contains($0.key) }.values.reduce(0) { $0 + $1.count }
            let architecture = stored.config.methodName
            return SummaryRow(
                name: name, architecture: architecture, parameters: count,
                percentOfBase: 100 * Double(count) / baseCount,
                active: activeAdapters?.names.contains(name) == true,
                training: trainingAdapters?.names.contains(name) == true || trainingBranches?.contains(name) == true)
        }
    }

    // MARK: - Engine

    static let placeholderHead = HeadSpec(name: AdapterModel.placeholderHeadName, labels: ["0", "1"], dropout: 0)

    /// Whether `name` can name an adapter — names become part of tensor names: letters, digits, `_` and `-` — or, with
    /// `head`, a head (also the commas of a fusion's name: AdapterHub names a fusion's head like the fusion, `a,b`).
    public static func isUsableName(_ name: String, head: Bool = false) -> Bool {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: head ? "_-," : "_-"))
        return !name.isEmpty && name.unicodeScalars.allSatisfy(allowed.contains) && name != AdapterModel.placeholderHeadName
    }

    /// Throws unless `isUsableName`.
    func checkName(_ name: String, head: Bool = false) throws {
        guard Self.isUsableName(name, head: head) else {
            throw AdapterError.invalidSetup(
                "'\(name)' is not a usable name: letters, digits, '_' and '-' only (it becomes part of tensor names)")
        }
    }

    /// The active adapters and head, as an engine runs them for inference.
    var activeSetupKey: EngineKey { Self.engineKey(activeAdapters, head: activeHead) }

    /// The engine that runs `setup` with `head`.
    static func engineKey(_ setup: AdapterSetup?, head: String?) -> EngineKey {
        EngineKey(
            adapters: setup?.names ?? [], head: head, full: false, averageWeights: setup?.averageWeights,
            fuse: setup?.isFuse ?? false, splits: setup?.splitLengths, nested: setup.flatMap { $0.isNested ? $0.blocks : nil })
    }

    /// The head `setActiveAdapters(setup)` activates: for a setup ending in a Fuse the fusion's head when there is one
    /// (what save_adapter_fusion's with_head stores), else the head named like its last adapter, if any.
    func headName(for setup: AdapterSetup) -> String? {
        if case .fuse(let names)? = setup.blocks.last, heads[names.joined(separator: ",")] != nil {
            return names.joined(separator: ",")
        }
        return setup.last.flatMap { heads[$0] != nil ? $0 : nil }
    }

    func inferenceEngine() throws -> AdapterModel {
        let key = activeSetupKey
        // A full fine-tuning engine of the same head runs inference exactly as a head-only one would.
        if let engine, var current = engineKey {
            current.full = false
            if current == key { return engine }
        }
        return try engine(for: key)
    }

    /// The engine for `key`, reusing the current one when it matches (a merged LoRA lives in it).
    func engine(for key: EngineKey) throws -> AdapterModel {
        if let engine, engineKey == key { return engine }
        try resetMerge()
        dropEngine()
        let model = try buildModel(for: key, trainable: true)
        engine = model
        engineKey = key
        return model
    }

    /// The stored adapters `names` with their configurations, in order.
    func namedAdapters(_ names: [String]) throws -> [NamedAdapter] {
        try names.map { name in
            guard let stored = adapters[name] else { throw AdapterError.unknownAdapter(name) }
            return NamedAdapter(name: name, config: stored.config)
        }
    }

    /// A new model of `key`'s setup holding the stored values.
    func buildModel(for key: EngineKey, trainable: Bool) throws -> AdapterModel {
        let headSpec = key.head.flatMap { heads[$0]?.spec } ?? Self.placeholderHead
        let mode: TrainingMode
        if key.full {
            mode = .full
        } else if key.adapters.isEmpty {
            mode = .headOnly
        } else if let nested = key.nested {
            mode = .composed(try nested.map(stackBlock))
        } else if key.fuse {
            let name = key.adapters.joined(separator: ",")
            guard let fusion = fusions[name] else { throw AdapterError.invalidSetup("no AdapterFusion '\(name)' is loaded") }
            mode = .fuse(try namedAdapters(key.adapters), fusion: fusion.config)
        } else if let splits = key.splits {
            mode = .split(try namedAdapters(key.adapters), splits: splits)
        } else if let weights = key.averageWeights {
            mode = .average(try namedAdapters(key.adapters), weights: weights)
        } else if key.adapters.count == 1, let stored = adapters[key.adapters[0]] {
            mode = .adapter(name: key.adapters[0], config: stored.config)
        } else {
            mode = .stack(try namedAdapters(key.adapters))
        }
        let model = try AdapterModel(base: base, mode: mode, head: headSpec, trainable: trainable)
        for name in key.adapters {
            for (tensor, values) in adapters[name]?.tensors ?? [:] { try model.setTensor(tensor, values) }
        }
        if let head = key.head, let stored = heads[head] {
            for (tensor, values) in stored.tensors { try model.setTensor(tensor, values) }
        }
        for name in key.fusionNames {
            guard let fusion = fusions[name] else { throw AdapterError.invalidSetup("no AdapterFusion '\(name)' is loaded") }
            let prefix = base.config.modelType.rawValue + "."
            let expected = Set(model.trainableNames.filter { $0.contains(".adapter_fusion_layer.\(name).") })
            let given = Set(fusion.tensors.keys.map { prefix + $0 })
            guard expected == given else {
                let missing = expected.subtracting(given).sorted().prefix(3)
                let extra = given.subtracting(expected).sorted().prefix(3)
                throw AdapterError.incompatible(
                    detail: "the AdapterFusion '\(name)' does not fit its adapters: missing \(Array(missing)), unexpected \(Array(extra))")
            }
            for (tensor, values) in fusion.tensors { try model.setTensor(prefix + tensor, values) }
        }
        return model
    }

    /// A setup's block with its adapters' configurations (and a Fuse's fusion configuration).
    private func stackBlock(_ block: AdapterSetup.Block) throws -> StackBlock {
        switch block {
        case .adapter(let name):
            return .single(try namedAdapters([name])[0])
        case .fuse(let names):
            guard let fusion = fusions[names.joined(separator: ",")] else {
                throw AdapterError.invalidSetup("no AdapterFusion '\(names.joined(separator: ","))' is loaded")
            }
            return .fuse(try namedAdapters(names), fusion: fusion.config)
        case .average(let names, let weights):
            return .average(try namedAdapters(names), weights: weights)
        case .split(let names, let splits):
            return .split(try namedAdapters(names), splits: splits)
        }
    }

    /// Copies what every engine learnt back into the stored tensors, then forgets them.
    func dropEngine() {
        syncFromEngine()
        engine = nil
        engineKey = nil
        branchEngines = []
    }

    /// Copies every engine's current values into storage without dropping them (before saving, or building
    /// another model of the same tensors).
    func syncFromEngine() {
        if let engine, let key = engineKey { absorb(engine, key) }
        for branch in branchEngines { absorb(branch.model, branch.key) }
    }

    /// Stores what `engine`, built for `key`, holds now.
    private func absorb(_ engine: AdapterModel, _ key: EngineKey) {
        for name in key.adapters {
            guard var stored = adapters[name] else { continue }
            for tensor in stored.tensors.keys {
                stored.tensors[tensor] = engine.tensor(tensor) ?? stored.tensors[tensor]
            }
            adapters[name] = stored
        }
        for name in key.fusionNames {
            guard var stored = fusions[name] else { continue }
            let prefix = base.config.modelType.rawValue + "."
            for tensor in stored.tensors.keys {
                stored.tensors[tensor] = engine.tensor(prefix + tensor) ?? stored.tensors[tensor]
            }
            fusions[name] = stored
        }
        if let head = key.head, var stored = heads[head] {
            for tensor in stored.tensors.keys {
                stored.tensors[tensor] = engine.tensor(tensor) ?? stored.tensors[tensor]
            }
            heads[head] = stored
        }
    }

    func resetMerge() throws {
        guard mergedAdapter != nil else { return }
        try engine?.unmergeLoRA()
        mergedAdapter = nil
    }
}

extension ModelWithAdapters: SequenceClassifier {
    public var classLabels: [String] { activeHead.flatMap { heads[$0]?.spec.labels } ?? [] }
    public func classLogits(_ batch: TokenBatch) throws -> [Float] { try logits(batch) }
}

extension AdapterModel {
    /// Current values of the trainable tensors whose names pass `include`, by name.
    func tensors(where include: (String) -> Bool) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for e in savedEntries where include(e.name) {
            out[e.name] = Array(UnsafeBufferPointer(start: e.value, count: e.count))
        }
        return out
    }
}
