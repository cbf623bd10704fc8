import Kernels

/// The tensors a model declares while it is built: trained ones (with their weight-decay rule and, where
/// the default by name does not apply, their initialisation) and derived working tensors that are neither
/// trained nor saved. Each adapter method's `declare…` function adds its tensors here, so a new method adds
/// a file instead of growing `AdapterModel.init`.
struct SlotDeclarations {
    let values: Arena
    private(set) var trained: [(name: String, slot: Arena.Slot, decay: Bool)] = []
    private(set) var initSchemes: [String: AdapterModel.InitScheme] = [:]
    private(set) var derived: Set<String> = []
    private(set) var buffers: [Arena.Slot] = []

    init(values: Arena) {
        self.values = values
    }

    /// A trained tensor, decayed unless `decay` is false (the HF Trainer's rule: biases and LayerNorms not).
    mutating func train(_ name: String, _ shape: [Int], decay: Bool = true, initialize scheme: AdapterModel.InitScheme? = nil)
        -> Arena.Slot
    {
        let s = values.declare(name, shape: shape)
        trained.append((name, s, decay))
        if let scheme { initSchemes[name] = scheme }
        return s
    }

    /// A tensor saved with the adapter but never trained (PyTorch's buffers, e.g. LoReFT's orthogonal `base`, and
    /// parameters that no input reaches, which PyTorch's AdamW then leaves untouched): no gradient, no optimizer state.
    mutating func buffer(_ name: String, _ shape: [Int], initialize scheme: AdapterModel.InitScheme? = nil) -> Arena.Slot {
        let s = values.declare(name, shape: shape)
        buffers.append(s)
        if let scheme { initSchemes[name] = scheme }
        return s
    }

    /// A working tensor rebuilt from the trained ones (never trained, never saved).
    mutating func derive(_ name: String, _ shape: [Int]) -> Arena.Slot {
        derived.insert(name)
        return values.declare(name, shape: shape)
    }

    /// Makes every trained tensor whose name `keep` rejects a buffer: kept and saved, never trained (AdapterFusion
    /// trains its fusion layers and head over frozen adapters).
    mutating func freeze(keeping keep: (String) -> Bool) {
        let frozen = trained.filter { !keep($0.name) }
        trained.removeAll { !keep($0.name) }
        buffers += frozen.map(\.slot)
    }
}
