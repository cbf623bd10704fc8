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
    }

    /// Rebuilds every DoRA site's W + B·A and its row norms from the current values.
    func materializeDoRA() {
        for l in 0..<layerAdapters.count {
            for site in LinearSite.allCases {
                guard let slots = layerAdapters[l][site].first, let dora = slots.dora, let a = slots.a else { continue }
                let f = frozenLinear(site, layer: l)
                DoRAKernel.directions(
                    v: values.pointer(dora.directions), norms: values.pointer(dora.norms), weight: f.weight,
                    a: values.pointer(a), b: values.pointer(slots.b), inFeatures: f.inFeatures, outFeatures: f.outFeatures,
                    rank: slots.rank)
            }
        }
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
