import Adapters
import Kernels

extension AdapterModel {
    /// A linear site's frozen weight `[out, in]` and bias `[out]` in layer `l`, with its shape.
    func frozenLinear(_ site: LinearSite, layer l: Int)
        -> (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, inFeatures: Int, outFeatures: Int)
    {
        let w = base.weights
        let layer = w.layers[l]
        let c = config.hiddenSize
        let inter = config.intermediateSize
        switch site {
        case .query, .key, .value:
            let i = site.rawValue
            return (w.pointer(layer.qkvWeight) + i * c * c, w.pointer(layer.qkvBias) + i * c, c, c)
        case .intermediate:
            return (w.pointer(layer.intermediateWeight), w.pointer(layer.intermediateBias), c, inter)
        case .output:
            return (w.pointer(layer.outputWeight), w.pointer(layer.outputBias), inter, c)
        }
    }

    /// Folds the LoRA update into the frozen base weights (`W ← W + s·B·A`, AdapterHub's
    /// `merge_adapter`), or (IA)³'s scale (`W ← (s·l) ⊙ W`, and the bias too, so that the merged model
    /// gives exactly the unmerged outputs — AdapterHub leaves the bias unscaled), after which the forward
    /// pass no longer applies them separately. The original weights are kept so that `unmergeLoRA`
    /// restores them bit for bit (subtracting or dividing again would leave float rounding behind).
    public func mergeLoRA() throws {
        guard !isStacked else {
            throw AdapterError.incompatible(detail: "a Stack of adapters cannot be merged: merge one LoRA adapter at a time")
        }
        let hasLoRA = layerAdapters.contains { $0.lora.contains { !$0.isEmpty } }
        guard hasLoRA, !loraMerged else {
            throw AdapterError.incompatible(detail: hasLoRA ? "the LoRA adapter is already merged" : "only LoRA adapters can be merged")
        }
        guard !layerAdapters.contains(where: { $0.lora.contains { $0.contains { $0.gate != nil } } }) else {
            // The gate depends on each input sequence: no fixed weight holds it.
            throw AdapterError.incompatible(detail: "a gated LoRA (use_gating, as in UniPELT) cannot be merged into the weights")
        }
        guard !base.weights.fp32MatricesReleased else {
            throw AdapterError.incompatible(
                detail: "the base model holds its weights in bf16 only (bf16 inference): merging needs the fp32 weights; load it in fp32")
        }
        // DoRA's norms of W + B·A, for every site from its weights before anything is merged.
        materializeDoRA()
        var saved: [[Float]] = []
        for l in 0..<config.numHiddenLayers {
            for site in LinearSite.allCases {
                guard let slots = layerAdapters[l][site].first else { continue }
                let f = frozenLinear(site, layer: l)
                saved.append(Array(UnsafeBufferPointer(start: f.weight, count: f.inFeatures * f.outFeatures)))
                saved.append(Array(UnsafeBufferPointer(start: f.bias, count: f.outFeatures)))
                if let vera = slots.vera {
                    VeRAKernel.merge(
                        weight: f.weight, a: values.pointer(vera.sharedA), b: values.pointer(vera.sharedB), d: values.pointer(vera.d),
                        vb: values.pointer(slots.b), inFeatures: f.inFeatures, outFeatures: f.outFeatures, rank: slots.rank,
                        scaling: slots.scaling, sign: 1,
                        scratch: doraScratch.reserve(f.outFeatures * slots.rank + slots.rank * f.inFeatures))
                    if let dora = slots.dora { rescaleMergedDoRA(dora, f) }
                } else if slots.scales {
                    IA3Kernel.merge(
                        weight: f.weight, bias: f.bias, l: values.pointer(slots.b), inFeatures: f.inFeatures,
                        outFeatures: f.outFeatures, scaling: slots.scaling)
                } else if let a = slots.a {
                    LoRAKernel.merge(
                        weight: f.weight, a: values.pointer(a), b: values.pointer(slots.b), inFeatures: f.inFeatures,
                        outFeatures: f.outFeatures, rank: slots.rank, scaling: slots.scaling, sign: 1)
                    if let dora = slots.dora { rescaleMergedDoRA(dora, f) }
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
        var next = 0
        for l in 0..<config.numHiddenLayers {
            for site in LinearSite.allCases where !layerAdapters[l][site].isEmpty {
                let f = frozenLinear(site, layer: l)
                premergeWeights[next].withUnsafeBufferPointer { f.weight.update(from: $0.baseAddress!, count: $0.count) }
                premergeWeights[next + 1].withUnsafeBufferPointer { f.bias.update(from: $0.baseAddress!, count: $0.count) }
                next += 2
            }
        }
        premergeWeights = []
        loraMerged = false
    }
}

extension AdapterModel {
    /// DoRA after its update is merged: W' = (m / n) ⊙ (W + s·ΔW) by rows, and the bias too (AdapterHub's merge uses
    /// ΔW without s and leaves the bias, which changes the outputs unless alpha = r and b = 0).
    func rescaleMergedDoRA(_ dora: DoRASlots, _ f: (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, inFeatures: Int, outFeatures: Int)) {
        let m = values.pointer(dora.magnitude)
        let n = values.pointer(dora.norms)
        for j in 0..<f.outFeatures {
            let g = m[j] / n[j]
            let row = f.weight + j * f.inFeatures
            for k in 0..<f.inFeatures { row[k] *= g }
            f.bias[j] *= g
        }
    }
}
