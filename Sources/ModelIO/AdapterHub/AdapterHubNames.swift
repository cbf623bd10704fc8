/// How AdapterHub's state-dict keys name the adapter or head they belong to.
public enum AdapterHubNames {
    /// Module containers that `adapters` 1.3 keys by adapter name (`….loras.NAME.lora_A`,
    /// `….output.adapters.NAME.adapter_up.weight`, `invertible_adapters.NAME.…`, …).
    static let containers: Set<Substring> = [
        "adapters", "loras", "prefix_tunings", "prefix_gates", "refts", "prompt_tunings", "shared_parameters",
        "invertible_adapters", "adapter_fusion_layer",
    ]

    /// The adapter or head a tensor belongs to: the path component after `heads.` at the start, or after
    /// the first container above; nil for a tensor of neither (a base-model weight).
    public static func owner(ofTensor name: String) -> String? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 2, parts[0] == "heads" { return String(parts[1]) }
        for i in 0..<max(0, parts.count - 2) where containers.contains(parts[i]) {
            return String(parts[i + 1])
        }
        return nil
    }

    /// `name` with its owner (`owner(ofTensor:)`) `old` replaced by `new` — `load_adapter(load_as=…)`'s
    /// renaming (`….adapters.old.…` → `….adapters.new.…`, `shared_parameters.old.…` → `shared_parameters.new.…`).
    /// Tensors of other owners are returned unchanged.
    public static func renaming(_ name: String, from old: String, to new: String) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for i in 0..<max(0, parts.count - 2) where containers.contains(parts[i]) {
            if parts[i + 1] == old { parts[i + 1] = Substring(new) }
            return parts.joined(separator: ".")
        }
        return name
    }
}
