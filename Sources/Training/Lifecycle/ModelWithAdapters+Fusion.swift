import Adapters
import Encoders
import Foundation
import ModelIO

extension ModelWithAdapters {
    /// `add_adapter_fusion(Fuse(a, b, …), config)`: a new fusion layer `a,b,…` over loaded adapters, drawn as
    /// AdapterHub draws it (query and key N(0, 0.02), zero biases; the value matrix the identity with
    /// `value_initialized`), seeded. Add a head named like it (`addClassificationHead("a,b", …)`) to train it.
    public func addAdapterFusion(
        _ names: [String], config: FusionConfig = .dynamic, seed: UInt64 = 42, overwrite: Bool = false
    )
        throws
    {
        let name = names.joined(separator: ",")
        for adapter in names where adapters[adapter] == nil { throw AdapterError.unknownAdapter(adapter) }
        if fusions[name] != nil && !overwrite {
            throw AdapterError.invalidSetup("an AdapterFusion '\(name)' already exists (pass overwrite to replace it)")
        }
        let scratch = try AdapterModel(
            base: base,
            mode: .fuse(try namedAdapters(names), fusion: config),
            head: Self.placeholderHead)
        scratch.initializeTrainable(seed: seed)
        var tensors: [String: [Float]] = [:]
        for (tensor, values) in scratch.tensors(where: { $0.contains(".adapter_fusion_layer.") }) {
            guard let r = tensor.range(of: "encoder.layer.") else { continue }
            tensors[String(tensor[r.lowerBound...])] = values
        }
        fusions[name] = StoredFusion(config: config, tensors: tensors)
    }

    /// `train_adapter_fusion(Fuse(a, b, …))`: freezes the base and the adapters, activates the fusion (and the head
    /// named like it), and makes `trainingModel()` train the fusion layers and that head.
    public func trainAdapterFusion(_ names: [String]) throws {
        try trainAdapterFusion(AdapterSetup.fuse(names))
    }

    /// `train_adapter_fusion(setup)` for a Fuse, or a Stack of adapters ending in one — `Stack("lang", Fuse("a", "b"))`:
    /// the fusion over a frozen language adapter, as in MAD-X. Only the fusion layers and the fusion's head train.
    public func trainAdapterFusion(_ setup: AdapterSetup) throws {
        guard case .fuse? = setup.blocks.last,
            setup.blocks.dropLast().allSatisfy({ if case .adapter = $0 { true } else { false } })
        else {
            throw AdapterError.invalidSetup(
                "train_adapter_fusion takes a Fuse, or a Stack of adapters ending in one: not \(setup)")
        }
        try setActiveAdapters(setup)
        guard heads[setup.fusionName] != nil else {
            throw AdapterError.invalidSetup(
                "no head named '\(setup.fusionName)': add one (addClassificationHead(\"\(setup.fusionName)\", …)) to train the fusion"
            )
        }
        activeHead = setup.fusionName
        baseFrozen = true
        trainingAdapters = setup
    }

    /// `save_adapter_fusion(folder, "a,b", with_head=…)`: the fusion layer (and its head) as a folder AdapterHub loads.
    public func saveAdapterFusion(to folder: URL, name: String, withHead: Bool = true) throws {
        syncFromEngine()
        guard let stored = fusions[name] else { throw AdapterError.invalidSetup("no AdapterFusion '\(name)'") }
        let prefix = base.config.modelType.rawValue + "."
        let scratch = try AdapterModel(
            base: base,
            mode: .fuse(try namedAdapters(name.split(separator: ",").map(String.init)), fusion: stored.config),
            head: Self.placeholderHead, trainable: false)
        let shapes = Dictionary(uniqueKeysWithValues: scratch.savedEntries.map { ($0.name, $0.shape) })
        let tensors = try stored.tensors.keys.sorted().map { key -> SafetensorsWriter.Tensor in
            guard let shape = shapes[prefix + key], let values = stored.tensors[key] else {
                throw AdapterError.invalidSetup("fusion tensor '\(key)' does not fit the fusion")
            }
            return SafetensorsWriter.Tensor(name: prefix + key, shape: shape, values: values)
        }
        var head: AdapterHubFolder.Head?
        if withHead, let h = heads[name] {
            head = AdapterHubFolder.Head(
                name: name, labels: h.spec.labels, config: h.spec.config,
                tensors: try Self.writerTensors(h.tensors, shapes: headShapes(h.spec)))
        }
        try AdapterHubFolder.saveFusion(
            to: folder, adapterNames: name.split(separator: ",").map(String.init), config: stored.config,
            model: modelInfo,
            tensors: tensors, head: head)
    }
}
