import Adapters
import Encoders
import Foundation
import ModelIO

extension ModelWithAdapters {
    /// `save_adapter(folder, name, with_head=…)`: the adapter (and the head named like it) as an
    /// AdapterHub folder that the Python library loads, written atomically.
    public func saveAdapter(to folder: URL, name: String, withHead: Bool = true) throws {
        syncFromEngine()
        guard let stored = adapters[name] else { throw AdapterError.unknownAdapter(name) }
        var head: AdapterHubFolder.Head?
        if withHead, let stored = heads[name] {
            head = AdapterHubFolder.Head(
                name: stored.spec.name, labels: stored.spec.labels, config: stored.spec.config,
                tensors: try Self.writerTensors(stored.tensors, shapes: headShapes(stored.spec)))
        }
        try AdapterHubFolder.save(
            to: folder, adapterName: name, config: stored.config, model: modelInfo,
            adapterTensors: try Self.writerTensors(stored.tensors, shapes: try shapes(of: name)), head: head)
    }

    /// `load_adapter(folder, load_as=…, with_head=…, set_active=…)`: an AdapterHub folder
    /// (`.safetensors` or pickle `.bin`, current or adapter-transformers 3.x) or a PEFT LoRA folder,
    /// checked tensor by tensor against this model. Returns the adapter's name.
    @discardableResult
    public func loadAdapter(
        from folder: URL, loadAs: String? = nil, withHead: Bool = true, overwrite: Bool = false, setActive: Bool = false
    ) throws -> String {
        let loaded: AdapterModel
        let hasHead: Bool
        if Self.isPEFTFolder(folder) {
            loaded = try AdapterModel.load(peftFolder: folder, base: base)
            hasHead = true
        } else {
            (loaded, hasHead) = try AdapterModel.read(adapterFolder: folder, base: base, requireHead: false, logger: logger)
        }
        guard case .adapter(let savedName, let config) = loaded.mode else {
            throw AdapterError.incompatible(detail: "\(folder.path): holds a head and no adapter (load it with loadHead)")
        }
        let name = loadAs ?? savedName
        try checkName(name)
        let headName = loadAs ?? loaded.head.name
        if adapters[name] != nil && !overwrite { throw AdapterError.alreadyExists(name) }
        let takeHead = withHead && hasHead
        if takeHead && heads[headName] != nil && !overwrite { throw AdapterError.headAlreadyExists(headName) }
        // Tensor names carry the saved name; `loadAs` renames them as the Python library does.
        func renamed(_ tensor: String) -> String { AdapterHubNames.renaming(tensor, from: savedName, to: name) }
        var tensors: [String: [Float]] = [:]
        for (tensor, values) in loaded.tensors(where: { !$0.hasPrefix("heads.") }) { tensors[renamed(tensor)] = values }
        if adapters[name] != nil { try deleteAdapter(name) }
        adapters[name] = StoredAdapter(config: config, tensors: tensors)
        adapterNames.append(name)
        if takeHead { try storeHead(of: loaded, as: headName) }
        if setActive { try setActiveAdapters(AdapterSetup([name])) }
        return name
    }

    /// `load_head(folder, load_as=…)`: a head saved on its own (`save_head`, `train --method head`), checked
    /// against this model; it becomes the active head unless `setActive` is false. Returns the head's name.
    @discardableResult
    public func loadHead(from folder: URL, loadAs: String? = nil, overwrite: Bool = false, setActive: Bool = true) throws
        -> String
    {
        let (loaded, _) = try AdapterModel.read(adapterFolder: folder, base: base, requireHead: true, logger: logger)
        let name = loadAs ?? loaded.head.name
        try checkName(name)
        if heads[name] != nil && !overwrite { throw AdapterError.headAlreadyExists(name) }
        try storeHead(of: loaded, as: name)
        if setActive { try setActiveHead(name) }
        return name
    }

    /// Keeps `loaded`'s head under `name` (its tensors renamed as `load_as` renames them), replacing a head
    /// of that name; the dropout is this base's, as the Python library's heads take the model's.
    func storeHead(of loaded: AdapterModel, as name: String) throws {
        let oldPrefix = "heads.\(loaded.head.name)."
        var tensors: [String: [Float]] = [:]
        for (tensor, values) in loaded.tensors(where: { $0.hasPrefix(oldPrefix) }) {
            tensors["heads.\(name)." + tensor.dropFirst(oldPrefix.count)] = values
        }
        if heads[name] != nil { try deleteHead(name) }
        var spec = loaded.head
        spec.name = name
        spec.dropout = base.config.classifierDropout ?? base.config.hiddenDropoutProb
        heads[name] = StoredHead(spec: spec, tensors: tensors)
        headNames.append(name)
    }

    /// `load_adapter_fusion(folder, set_active=…)`: an AdapterFusion folder (`save_adapter_fusion`) over adapters
    /// already loaded under the names it lists, with its head (named like the fusion, `a,b`) when the folder has
    /// one. Returns the fusion's name; `setActive` activates `Fuse(adapters…)` and that head.
    @discardableResult
    public func loadAdapterFusion(from folder: URL, withHead: Bool = true, overwrite: Bool = false, setActive: Bool = false)
        throws -> String
    {
        let saved = try AdapterFusionFolder(folder: folder)
        for name in saved.adapterNames where adapters[name] == nil {
            throw AdapterError.invalidSetup(
                "\(folder.path): the fusion '\(saved.name)' needs the adapter '\(name)': load it first (under that name)")
        }
        if let h = saved.hiddenSize, h != base.config.hiddenSize {
            throw AdapterError.incompatible(detail: "\(folder.path): the fusion is for hidden size \(h), the model has \(base.config.hiddenSize)")
        }
        if fusions[saved.name] != nil && !overwrite {
            throw AdapterError.invalidSetup("an AdapterFusion '\(saved.name)' is already loaded (pass overwrite to replace it)")
        }
        var tensors: [String: [Float]] = [:]
        for name in saved.weights.tensorNames {
            guard name.contains(".adapter_fusion_layer.\(saved.name)."), let r = name.range(of: "encoder.layer.") else {
                throw AdapterError.incompatible(detail: "\(saved.weightsPath): '\(name)' is not a tensor of the fusion '\(saved.name)'")
            }
            var values = [Float](repeating: 0, count: saved.weights.shape(of: name)?.reduce(1, *) ?? 0)
            try values.withUnsafeMutableBufferPointer { try saved.weights.readFloats(name, into: $0.baseAddress!) }
            tensors[String(name[r.lowerBound...])] = values
        }
        fusions[saved.name] = StoredFusion(config: saved.config, tensors: tensors)
        let headFile = folder.appendingPathComponent("head_config.json")
        if withHead, FileManager.default.fileExists(atPath: headFile.path) {
            let (loaded, _) = try AdapterModel.read(adapterFolder: folder, base: base, requireHead: true, logger: logger)
            // The fusion's head keeps AdapterHub's name, commas included (it is no adapter's name).
            try storeHead(of: loaded, as: loaded.head.name)
        }
        // Check the tensors against the model now rather than at first use.
        _ = try buildModel(
            for: EngineKey(adapters: saved.adapterNames, head: nil, full: false, fuse: true), trainable: false)
        if setActive { try setActiveAdapters(.fuse(saved.adapterNames)) }
        return saved.name
    }

    /// Whether `folder` holds a head alone (head_config.json, no adapter_config.json).
    public static func isHeadOnlyFolder(_ folder: URL) -> Bool {
        let fm = FileManager.default
        return !fm.fileExists(atPath: folder.appendingPathComponent("adapter_config.json").path)
            && fm.fileExists(atPath: folder.appendingPathComponent("head_config.json").path)
    }

    static func isPEFTFolder(_ folder: URL) -> Bool {
        let config = folder.appendingPathComponent("adapter_config.json")
        guard let data = FileManager.default.contents(atPath: config.path),
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return false }
        return json["peft_type"] != nil
    }

    var modelInfo: AdapterHubFolder.ModelInfo {
        AdapterHubFolder.ModelInfo(
            modelType: base.config.modelType.rawValue, hiddenSize: base.config.hiddenSize, modelName: modelName,
            modelClass: base.config.modelType == .roberta ? "RobertaAdapterModel" : "BertAdapterModel")
    }

    /// Shapes of an adapter's tensors, from a model built for it (never from the stored arrays).
    func shapes(of name: String) throws -> [String: [Int]] {
        guard let stored = adapters[name] else { throw AdapterError.unknownAdapter(name) }
        let scratch = try AdapterModel(
            base: base, mode: .adapter(name: name, config: stored.config), head: Self.placeholderHead)
        return Dictionary(uniqueKeysWithValues: scratch.savedEntries.map { ($0.name, $0.shape) })
    }

    func headShapes(_ spec: HeadSpec) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: spec.tensorShapes(hiddenSize: base.config.hiddenSize).map { ($0.name, $0.shape) })
    }

    static func writerTensors(_ tensors: [String: [Float]], shapes: [String: [Int]]) throws -> [SafetensorsWriter
        .Tensor]
    {
        try tensors.keys.sorted().map { name in
            guard let shape = shapes[name], let values = tensors[name], shape.reduce(1, *) == values.count else {
                throw AdapterError.invalidSetup("tensor '\(name)' does not fit its adapter's configuration")
            }
            return SafetensorsWriter.Tensor(name: name, shape: shape, values: values)
        }
    }
}
