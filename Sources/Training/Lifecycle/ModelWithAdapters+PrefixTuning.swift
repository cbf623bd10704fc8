import Adapters
import Encoders

extension ModelWithAdapters {
    /// `eject_prefix_tuning(name)`: replaces the prefix MLP of adapter `name` (`wte`, `control_trans.{0,2}`) by
    /// the keys and values it computes, trained directly from then on (`flat`): the same logits, no MLP left to
    /// run, and a smaller adapter. Its other members (a MAM's bottleneck) are kept.
    public func ejectPrefixTuning(_ name: String) throws {
        try resetMerge()
        dropEngine()
        guard var stored = adapters[name] else { throw AdapterError.unknownAdapter(name) }
        guard let flatConfig = stored.config.withFlatPrefix else {
            throw AdapterError.invalidSetup("'\(name)' has no prefix tuning with a control_trans MLP to eject (it is flat, or not prefix tuning)")
        }
        let scratch = try AdapterModel(
            base: base, mode: .adapter(name: name, config: stored.config), head: Self.placeholderHead, trainable: false)
        for (tensor, values) in stored.tensors { try scratch.setTensor(tensor, values) }
        guard let flat = scratch.prefixKeyValues() else {
            throw AdapterError.invalidSetup("'\(name)' builds no prefix")
        }
        stored.config = flatConfig
        stored.tensors = stored.tensors.filter { !$0.key.contains(".self_prefix.") }
        stored.tensors[flat.name] = flat.values
        adapters[name] = stored
    }
}
