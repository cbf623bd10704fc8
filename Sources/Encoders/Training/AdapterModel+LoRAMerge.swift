import Adapters
import Kernels

extension AdapterModel {
    /// Folds the LoRA update into the frozen base weights (`W ← W + s·B·A`, AdapterHub's
    /// `merge_adapter`), after which the forward pass no longer applies LoRA separately. The
    /// original rows are kept so that `unmergeLoRA` restores them bit for bit (subtracting `s·B·A`
    /// again would leave float rounding behind).
    public func mergeLoRA() throws {
        guard !isStacked else {
            throw AdapterError.incompatible(detail: "a Stack of adapters cannot be merged: merge one LoRA adapter at a time")
        }
        let hasLoRA = layerAdapters.contains { $0.lora.contains { !$0.isEmpty } }
        guard hasLoRA, !loraMerged else {
            throw AdapterError.incompatible(detail: hasLoRA ? "the LoRA adapter is already merged" : "only LoRA adapters can be merged")
        }
        let c = config.hiddenSize
        var saved: [[Float]] = []
        for (l, layer) in base.weights.layers.enumerated() {
            for i in 0..<3 where !layerAdapters[l].lora[i].isEmpty {
                let w = base.weights.pointer(layer.qkvWeight) + i * c * c
                saved.append(Array(UnsafeBufferPointer(start: w, count: c * c)))
                for slots in layerAdapters[l].lora[i] {
                    LoRAKernel.merge(
                        weight: w, a: values.pointer(slots.a), b: values.pointer(slots.b), inFeatures: c, outFeatures: c,
                        rank: slots.rank, scaling: slots.scaling, sign: 1)
                }
            }
        }
        premergeWeights = saved
        loraMerged = true
    }

    /// Undoes `mergeLoRA` (AdapterHub's `reset_adapter`), restoring the exact original weights.
    public func unmergeLoRA() throws {
        guard loraMerged else {
            throw AdapterError.incompatible(detail: "no merged LoRA adapter to unmerge")
        }
        let c = config.hiddenSize
        var next = 0
        for (l, layer) in base.weights.layers.enumerated() {
            for i in 0..<3 where !layerAdapters[l].lora[i].isEmpty {
                let w = base.weights.pointer(layer.qkvWeight) + i * c * c
                premergeWeights[next].withUnsafeBufferPointer { w.update(from: $0.baseAddress!, count: c * c) }
                next += 1
            }
        }
        premergeWeights = []
        loraMerged = false
    }
}
