import Adapters
import Kernels

/// DoRA (`use_dora`): LoRA whose output is rescaled per feature by a learned magnitude over the adapted
/// weight's row norm (`DoRAKernel`). The adapted weights W + B·A and their norms are rebuilt before each
/// forward pass, like Compacter's PHM weights.
extension AdapterModel {
    /// The DoRA tensors of one LoRA: the magnitude `[out, 1]` (trained) and the derived W + B·A `[out, in]`
    /// and row norms `[out]`.
    struct DoRASlots {
        let magnitude, directions, norms: Arena.Slot
        /// DVoRA (DoRA on VeRA): the update's factors `V_D·A` `[r, in]` and `V_B·B` `[out, r]`, derived per pass.
        var veraFactors: (a: Arena.Slot, b: Arena.Slot)? = nil
    }

    /// Rebuilds every DoRA site's W + B·A and its row norms from the current values.
    func materializeDoRA() {
        for l in 0..<layerAdapters.count {
            for site in LinearSite.allCases {
                guard let slots = layerAdapters[l][site].first, let dora = slots.dora else { continue }
                let f = frozenLinear(site, layer: l)
                guard let (a, b) = doraFactors(slots, dora, inFeatures: f.inFeatures, outFeatures: f.outFeatures) else { continue }
                DoRAKernel.directions(
                    v: values.pointer(dora.directions), norms: values.pointer(dora.norms), weight: f.weight, a: a, b: b,
                    inFeatures: f.inFeatures, outFeatures: f.outFeatures, rank: slots.rank)
            }
        }
    }

    /// The two factors of a DoRA site's update `B·A` (AdapterHub's `delta_w`, without the scaling): LoRA's own, or
    /// for DVoRA `(V_B·B)·(V_D·A)`, rebuilt into their derived slots.
    func doraFactors(_ slots: LoRASlots, _ dora: DoRASlots, inFeatures: Int, outFeatures: Int) -> (
        UnsafePointer<Float>, UnsafePointer<Float>
    )? {
        if let vera = slots.vera, let factors = dora.veraFactors {
            let r = slots.rank
            GEMM.multiply(
                .none, .none, m: r, n: inFeatures, k: r, a: values.pointer(vera.d), lda: r, b: values.pointer(vera.sharedA),
                ldb: inFeatures, c: values.pointer(factors.a), ldc: inFeatures)
            GEMM.multiply(
                .none, .none, m: outFeatures, n: r, k: outFeatures, a: values.pointer(slots.b), lda: outFeatures,
                b: values.pointer(vera.sharedB), ldb: r, c: values.pointer(factors.b), ldc: r)
            return (UnsafePointer(values.pointer(factors.a)), UnsafePointer(values.pointer(factors.b)))
        }
        guard let a = slots.a else { return nil }
        return (UnsafePointer(values.pointer(a)), UnsafePointer(values.pointer(slots.b)))
    }

    /// AdapterHub starts each magnitude at the frozen weight's row norms ‖W_j‖.
    func initializeDoRAMagnitudes() {
        for l in 0..<layerAdapters.count {
            for site in LinearSite.allCases {
                guard let dora = layerAdapters[l][site].first?.dora else { continue }
                let f = frozenLinear(site, layer: l)
                let m = values.pointer(dora.magnitude)
                for j in 0..<f.outFeatures {
                    let row = f.weight + j * f.inFeatures
                    var sum: Float = 0
                    for k in 0..<f.inFeatures { sum += row[k] * row[k] }
                    m[j] = sum.squareRoot()
                }
            }
        }
    }
}
