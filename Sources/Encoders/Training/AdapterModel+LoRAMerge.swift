import Adapters
import Kernels

extension AdapterModel {
    /// Folds the LoRA update into the frozen base weights (`W ← W + s·B·A`, AdapterHub's
    /// `merge_adapter`), after which the forward pass no longer applies LoRA separately.
    public func mergeLoRA() throws {
        guard let lora, !loraMerged else {
            throw AdapterError.incompatible(detail: lora == nil ? "only LoRA adapters can be merged" : "the LoRA adapter is already merged")
        }
        applyLoRA(lora, sign: 1)
        loraMerged = true
    }

    /// Undoes `mergeLoRA` (AdapterHub's `reset_adapter`): `W ← W − s·B·A`. The base weights return
    /// to their loaded values up to float rounding (see `unmergeLoRA`'s test for the bound).
    public func unmergeLoRA() throws {
        guard let lora, loraMerged else {
            throw AdapterError.incompatible(detail: "no merged LoRA adapter to unmerge")
        }
        applyLoRA(lora, sign: -1)
        loraMerged = false
    }

    private func applyLoRA(_ lora: LoRAConfig, sign: Float) {
        let c = config.hiddenSize
        for (l, layer) in base.weights.layers.enumerated() {
            for i in 0..<3 {
                guard let slots = layerAdapters[l].lora[i] else { continue }
                LoRAKernel.merge(
                    weight: base.weights.pointer(layer.qkvWeight) + i * c * c, a: values.pointer(slots.a), b: values.pointer(slots.b),
                    inFeatures: c, outFeatures: c, rank: lora.r, scaling: lora.scaling, sign: sign)
            }
        }
    }
}
