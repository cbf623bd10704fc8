import Adapters
import Kernels

/// Compacter's PHM projections (`PHMKernel`) inside a bottleneck: their parameters are trained, and each
/// forward pass materialises them as the bottleneck's ordinary down/up weights.
extension AdapterModel {
    /// One PHM projection `[in] → [out]` (AdapterHub's `PHMLayer`).
    struct PHMProjection {
        /// `phm_rule` `[n, n, n]`: the adapter's shared one or this layer's own.
        let rule: Arena.Slot
        /// `W_left` `[n, in/n, rank]` and `W_right` `[n, rank, out/n]` (factorised), or nil.
        let left, right: Arena.Slot?
        /// `W` `[n, in/n, out/n]`: trained when not factorised, else the product L·R (derived, not trained).
        let w: Arena.Slot
        /// The materialised linear weight `[out, in]` (derived, not trained).
        let weight: Arena.Slot
        let n, rank, inFeatures, outFeatures: Int
    }

    struct PHMPair {
        let down, up: PHMProjection
    }

    /// Declares a bottleneck's PHM tensors under AdapterHub's names: `p` is the adapter's prefix
    /// (`…output.adapters.NAME.`), `sharedRule` the adapter's shared `phm_rule` (nil when each layer has its
    /// own). The materialised weights and a factorised W are derived tensors (neither trained nor saved).
    static func declarePHM(
        _ bn: BottleneckConfig, prefix p: String, hidden c: Int, bottleneck d: Int, sharedRule: Arena.Slot?,
        into decl: inout SlotDeclarations
    ) -> PHMPair {
        let n = bn.phmDim
        let rank = bn.phmRank
        func projection(_ module: String, _ inFeatures: Int, _ outFeatures: Int) -> PHMProjection {
            let a = inFeatures / n
            let b = outFeatures / n
            // AdapterHub draws W (or its factors) xavier-normal per slice, and a layer's own rule N(0, 0.01²)
            // or U(±0.01) (a shared rule: N(0, phm_init_range²) or U(±1), see `sharedRuleInit`).
            let rule =
                sharedRule
                ?? decl.train(
                    p + module + "phm_rule", [n, n, n], initialize: bn.phmCInit == "uniform" ? .uniform(0.01) : .gaussian(0.01))
            var left: Arena.Slot?
            var right: Arena.Slot?
            let w: Arena.Slot
            if bn.factorizedPhmW {
                left = decl.train(p + module + "W_left", [n, a, rank], initialize: .gaussian((2 / Float(a + rank)).squareRoot()))
                right = decl.train(p + module + "W_right", [n, rank, b], initialize: .gaussian((2 / Float(rank + b)).squareRoot()))
                w = decl.derive(p + module + "W", [n, a, b])
            } else {
                w = decl.train(p + module + "W", [n, a, b], initialize: .gaussian((2 / Float(a + b)).squareRoot()))
            }
            return PHMProjection(
                rule: rule, left: left, right: right, w: w,
                weight: decl.derive(p + module + "weight", [outFeatures, inFeatures]),
                n: n, rank: rank, inFeatures: inFeatures, outFeatures: outFeatures)
        }
        return PHMPair(down: projection("adapter_down.0.", c, d), up: projection("adapter_up.", d, c))
    }

    /// The initialisation of an adapter's shared `phm_rule` (`init_shared_parameters`).
    static func sharedRuleInit(_ bn: BottleneckConfig) -> InitScheme {
        bn.phmCInit == "uniform" ? .uniform(1) : .gaussian(Float(bn.phmInitRange))
    }

    /// Rebuilds every PHM bottleneck's weights from its current parameters (before each forward pass).
    func materializePHM() {
        for layer in layerAdapters {
            for slots in layer.attention + layer.output {
                guard let phm = slots.phm else { continue }
                for p in [phm.down, phm.up] {
                    if let left = p.left, let right = p.right {
                        PHMKernel.factorProduct(
                            w: values.pointer(p.w), left: values.pointer(left), right: values.pointer(right), n: p.n,
                            a: p.inFeatures / p.n, rank: p.rank, b: p.outFeatures / p.n)
                    }
                    PHMKernel.materialize(
                        weight: values.pointer(p.weight), rule: values.pointer(p.rule), w: values.pointer(p.w), n: p.n,
                        inFeatures: p.inFeatures, outFeatures: p.outFeatures)
                }
            }
        }
    }

    /// Gradient buffers for a bottleneck's backward pass: its own tensors' gradients, or for a PHM
    /// bottleneck zeroed buffers for the materialised weights (mapped onto the PHM parameters by
    /// `finishPHMBackward`). Nil when nothing of it trains.
    func bottleneckGradients(_ s: BottleneckSlots) -> BottleneckTensors? {
        guard let phm = s.phm else { return bottleneckGrads(s) }
        guard let db = gradientOf[s.downBias.name] ?? phmScratch(s.downBias.name + ":grad", count: s.downBias.count),
            let ub = gradientOf[s.upBias.name] ?? phmScratch(s.upBias.name + ":grad", count: s.upBias.count),
            let dw = phmScratch(phm.down.weight.name, count: phm.down.weight.count),
            let uw = phmScratch(phm.up.weight.name, count: phm.up.weight.count)
        else { return nil }
        return BottleneckTensors(downWeight: dw, downBias: db, upWeight: uw, upBias: ub)
    }

    /// A zeroed gradient buffer keyed by `name` (nil when the model does not train).
    private func phmScratch(_ name: String, count: Int) -> UnsafeMutablePointer<Float>? {
        parameters.trainable ? derivedGradient(name, count: count, zero: true) : nil
    }

    /// Maps the materialised weights' gradients (left by the bottleneck's backward pass in the buffers of
    /// `bottleneckGradients`) onto the PHM parameters' gradients.
    func finishPHMBackward(_ s: BottleneckSlots) {
        guard let phm = s.phm, parameters.trainable else { return }
        for p in [phm.down, phm.up] {
            guard let dweight = derivedGradients[p.weight.name]?.pointer else { continue }
            let a = p.inFeatures / p.n
            let b = p.outFeatures / p.n
            let dw: UnsafeMutablePointer<Float>
            if p.left != nil {
                dw = derivedGradient(p.w.name, count: p.w.count, zero: true)
            } else if let g = gradientOf[p.w.name] {
                dw = g
            } else {
                continue
            }
            PHMKernel.backward(
                dweight: dweight, rule: values.pointer(p.rule), w: values.pointer(p.w), drule: gradientOf[p.rule.name],
                dw: dw, n: p.n, inFeatures: p.inFeatures, outFeatures: p.outFeatures)
            if let left = p.left, let right = p.right, let dl = gradientOf[left.name], let dr = gradientOf[right.name] {
                PHMKernel.factorBackward(
                    dw: dw, left: values.pointer(left), right: values.pointer(right), dleft: dl, dright: dr, n: p.n, a: a,
                    rank: p.rank, b: b)
            }
        }
    }
}
