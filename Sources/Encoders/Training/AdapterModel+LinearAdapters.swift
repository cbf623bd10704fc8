import Adapters
import Kernels

/// Adapters on the frozen linear layers — LoRA, (IA)³, DoRA — at query, key, value and the FFN's two dense
/// layers (`LinearSite`): their tensors, forward and backward.
extension AdapterModel {
    /// Declares a LoRA-family adapter's tensors in one layer (`layerPrefix` = `roberta.encoder.layer.N.`) at
    /// every site its config names, under AdapterHub's names (`….query.loras.NAME.lora_A` …).
    static func declareLinearAdapters(
        _ lc: LoRAConfig, layerPrefix: String, adapterName name: String, hidden c: Int, intermediate inter: Int,
        veraShared: (a: Arena.Slot, b: Arena.Slot)? = nil, into decl: inout SlotDeclarations
    ) -> [(LinearSite, LoRASlots)] {
        var sites: [(LinearSite, String, Int, Int)] = []
        if lc.selfattnLora {
            for (site, letter, module) in [(LinearSite.query, "q", "query"), (.key, "k", "key"), (.value, "v", "value")]
            where lc.attnMatrices.contains(letter) {
                sites.append((site, "attention.self.\(module)", c, c))
            }
        }
        if lc.intermediateLora { sites.append((.intermediate, "intermediate.dense", c, inter)) }
        if lc.outputLora { sites.append((.output, "output.dense", inter, c)) }
        let (aInit, bInit): (InitScheme, InitScheme) =
            switch lc.initWeights {
            case "bert": (.normal, .normal)
            case "ia3": (.ones, .ones)
            default: (.kaimingUniform, .zeros)
            }
        return sites.map { site, module, inFeatures, outFeatures in
            let p = "\(layerPrefix)\(module).loras.\(name)."
            if let shared = veraShared {
                var slots = LoRASlots(
                    a: nil, b: decl.train(p + "vera_B", [outFeatures, outFeatures], initialize: .scaledIdentity(Float(lc.veraB ?? 0))),
                    rank: lc.r, scaling: lc.scaling, scales: false)
                slots.vera = VeRASlots(
                    d: decl.train(p + "vera_D", [lc.r, lc.r], initialize: .scaledIdentity(Float(lc.veraD ?? 0))), sharedA: shared.a,
                    sharedB: shared.b)
                slots.dropout = Float(lc.dropout)
                if lc.useDora {
                    // DVoRA: DoRA's magnitude and norms over W + V_B·B·V_D·A.
                    slots.dora = DoRASlots(
                        magnitude: decl.train(p + "m.weight", [outFeatures, 1], initialize: .ones),
                        directions: decl.derive(p + "dora.directions", [outFeatures, inFeatures]),
                        norms: decl.derive(p + "dora.norms", [outFeatures]),
                        veraFactors: (
                            a: decl.derive(p + "dora.factor_a", [lc.r, inFeatures]),
                            b: decl.derive(p + "dora.factor_b", [outFeatures, lc.r])
                        ))
                }
                return (site, slots)
            }
            // (IA)³ has no A: its B is the scale vector.
            let a = lc.scales ? nil : decl.train(p + "lora_A", [lc.r, inFeatures], initialize: aInit)
            let b = decl.train(p + "lora_B", [outFeatures, lc.r], initialize: bInit)
            var slots = LoRASlots(a: a, b: b, rank: lc.r, scaling: lc.scaling, scales: lc.scales)
            slots.dropout = Float(lc.dropout)
            if lc.useGating {
                slots.gate = declareGate(p + "gate.", inFeatures: inFeatures, outputs: 1, zeroBias: false, into: &decl)
            }
            if lc.useDora {
                // The magnitude starts at ‖W_j‖ (`initializeDoRAMagnitudes`).
                slots.dora = DoRASlots(
                    magnitude: decl.train(p + "m.weight", [outFeatures, 1], initialize: .ones),
                    directions: decl.derive(p + "dora.directions", [outFeatures, inFeatures]),
                    norms: decl.derive(p + "dora.norms", [outFeatures]))
            }
            return (site, slots)
        }
    }

    /// A linear site's LoRA or (IA)³ adapters (Stack order, from the arena `values` of the model they
    /// belong to) on `y` `[rows, out]` (leading dimension `ldy`), the frozen layer's output for the input `x`
    /// `[rows, in]`. With `keep`, (IA)³'s unscaled output is kept for the backward pass.
    func applyLinearAdapters(
        _ stack: [LoRASlots], values: Arena, site: LinearSite, y: UnsafeMutablePointer<Float>, ldy: Int,
        x: UnsafePointer<Float>, rows m: Int, inFeatures: Int, outFeatures: Int, activations s: LayerActivations,
        keep: Bool, tmp: UnsafeMutablePointer<Float>, dropout: RowDropout? = nil, rowOffsets: [Int]
    ) {
        guard let first = stack.first else { return }
        let layerInput = x
        var x = x
        if let dropout, first.dropout > 0, stack.count == 1, !first.scales {
            // LoRA's dropout on its input (`lora_dropout(x)`), kept for the backward pass.
            let dropped = s.loraDropped[site.rawValue].reserve(m * inFeatures)
            dropout.apply(self, out: dropped, x: x, channels: inFeatures, p: first.dropout, site: 8 + site.rawValue)
            x = UnsafePointer(dropped)
        }
        if stack.count == 1 {
            if let vera = first.vera {
                VeRAKernel.forward(
                    y: y, ldy: ldy, x: x, a: values.pointer(vera.sharedA), b: values.pointer(vera.sharedB),
                    d: values.pointer(vera.d), vb: values.pointer(first.b), h: s.loraH[site.rawValue].reserve(m * first.rank),
                    rows: m, inFeatures: inFeatures, outFeatures: outFeatures, rank: first.rank, scaling: first.scaling,
                    scratch: gateScratch.reserve(m * first.rank + m * outFeatures))
                if let dora = first.dora {
                    DoRAKernel.forward(
                        y: y, ldy: ldy, magnitude: values.pointer(dora.magnitude), norms: values.pointer(dora.norms),
                        kept: keep ? s.ia3Kept[site.rawValue].reserve(m * outFeatures) : nil, rows: m,
                        outFeatures: outFeatures)
                }
            } else if first.scales {
                IA3Kernel.forward(
                    y: y, ldy: ldy, l: values.pointer(first.b),
                    kept: keep ? s.ia3Kept[site.rawValue].reserve(m * outFeatures) : nil, rows: m,
                    outFeatures: outFeatures, scaling: first.scaling)
            } else if let a = first.a, let gate = first.gate {
                // The gate reads the layer input (before the LoRA's dropout), as AdapterHub's `gate(layer_input)`.
                let means = gateForward(
                    gate, values: values, x: layerInput, ldx: inFeatures, rowOffsets: rowOffsets, buffer: s.gates[site.rawValue])
                let factors = Gate.rowFactors(means, rowOffsets: rowOffsets, outputs: 1, column: 0)
                factors.withUnsafeBufferPointer {
                    LoRAKernel.forwardGated(
                        y: y, ldy: ldy, x: x, a: values.pointer(a), b: values.pointer(first.b),
                        h: s.loraH[site.rawValue].reserve(m * first.rank), scaled: gateScratch.reserve(m * first.rank),
                        rowFactors: $0.baseAddress!, rows: m, inFeatures: inFeatures, outFeatures: outFeatures, rank: first.rank)
                }
            } else if let a = first.a {
                LoRAKernel.forward(
                    y: y, ldy: ldy, x: x, a: values.pointer(a), b: values.pointer(first.b),
                    h: s.loraH[site.rawValue].reserve(m * first.rank), rows: m, inFeatures: inFeatures,
                    outFeatures: outFeatures, rank: first.rank, scaling: first.scaling)
                if let dora = first.dora {
                    DoRAKernel.forward(
                        y: y, ldy: ldy, magnitude: values.pointer(dora.magnitude), norms: values.pointer(dora.norms),
                        kept: keep ? s.ia3Kept[site.rawValue].reserve(m * outFeatures) : nil, rows: m,
                        outFeatures: outFeatures)
                }
            }
            return
        }
        if stack.allSatisfy({ $0.averageFactor != nil }) {
            // An Average: each LoRA reads the layer input and its update counts its share (`averageFactors`).
            for slots in stack {
                guard let a = slots.a else { continue }
                LoRAKernel.forward(
                    y: y, ldy: ldy, x: x, a: values.pointer(a), b: values.pointer(slots.b),
                    h: s.loraH[site.rawValue].reserve(m * slots.rank), rows: m, inFeatures: inFeatures,
                    outFeatures: outFeatures, rank: slots.rank, scaling: slots.scaling * (slots.averageFactor ?? 1))
            }
            return
        }
        // AdapterHub's LoRA Stack chains the updates: each LoRA reads the previous one's output, not the
        // layer input (h₁ = s₁B₁A₁x, h₂ = s₂B₂A₂h₁), and only the last is added to the projection. Only
        // square layers (q, k, v) can chain; `init` refuses other stacks.
        let c = outFeatures
        var input = x
        for (k, slots) in stack.enumerated() {
            guard let a = slots.a else { continue }
            let out = k % 2 == 0 ? tmp : scratchF.reserve(m * c)
            out.update(repeating: 0, count: m * c)
            LoRAKernel.forward(
                y: out, ldy: c, x: input, a: values.pointer(a), b: values.pointer(slots.b),
                h: s.loraH[site.rawValue].reserve(m * slots.rank), rows: m, inFeatures: c, outFeatures: c,
                rank: slots.rank, scaling: slots.scaling)
            input = UnsafePointer(out)
        }
        for row in 0..<m { Residual.accumulate(into: y + row * ldy, input + row * c, count: c) }
    }

    /// Backward of `applyLinearAdapters` for one adapter at a linear site, in two halves around the frozen
    /// layer's own backward: `scaleOutputGradient` before it ((IA)³: `dl`, and `dy ⊙= s·l`), `addInputGradient`
    /// after it (LoRA: `dA`, `dB`, and `dx += …` when `dx` is given).
    func scaleOutputGradient(
        _ stack: [LoRASlots], site: LinearSite, dy: UnsafeMutablePointer<Float>, ldy: Int, rows: Int, outFeatures: Int,
        activations s: LayerActivations
    ) {
        guard let slots = stack.first else { return }
        if let dora = slots.dora {
            DoRAKernel.backward(
                dy: dy, ldy: ldy, kept: s.ia3Kept[site.rawValue].pointer, magnitude: values.pointer(dora.magnitude),
                norms: values.pointer(dora.norms), dm: gradientOf[dora.magnitude.name],
                dnorms: derivedGradient(dora.norms.name, count: dora.norms.count, zero: true), rows: rows, outFeatures: outFeatures)
            return
        }
        guard slots.scales else { return }
        IA3Kernel.backward(
            dy: dy, ldy: ldy, kept: s.ia3Kept[site.rawValue].pointer, l: values.pointer(slots.b),
            dl: gradientOf[slots.b.name], rows: rows, outFeatures: outFeatures, scaling: slots.scaling)
    }

    func addInputGradient(
        _ stack: [LoRASlots], site: LinearSite, dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, ldy: Int,
        x: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int, activations s: LayerActivations,
        scratch: UnsafeMutablePointer<Float>, dropout: RowDropout? = nil, rowOffsets: [Int]
    ) {
        if let slots = stack.first, let vera = slots.vera {
            veraInputGradient(slots, vera, site: site, dx: dx, dy: dy, ldy: ldy, rows: rows, inFeatures: inFeatures,
                outFeatures: outFeatures, activations: s, dropout: dropout)
            return
        }
        guard let slots = stack.first, let a = slots.a, let ga = gradientOf[a.name], let gb = gradientOf[slots.b.name] else {
            return
        }
        let layerInput = x
        // With LoRA dropout, A's gradient reads the dropped input, and ∂L/∂x through the LoRA path passes the
        // same mask before it joins dx.
        let dropped = dropout != nil && slots.dropout > 0
        var loraDx = dx
        if dropped, dx != nil {
            loraDx = adapterDropoutScratch.reserve(rows * inFeatures)
            loraDx?.update(repeating: 0, count: rows * inFeatures)
        }
        let loraInput = dropped ? UnsafePointer(s.loraDropped[site.rawValue].pointer) : x
        var gateGradient: [Float] = []
        if let gate = slots.gate {
            let factors = Gate.rowFactors(
                gateMeans(gate, rowOffsets: rowOffsets, buffer: s.gates[site.rawValue]), rowOffsets: rowOffsets, outputs: 1, column: 0)
            var dfactors = [Float](repeating: 0, count: rows)
            factors.withUnsafeBufferPointer { f in
                dfactors.withUnsafeMutableBufferPointer { df in
                    LoRAKernel.backwardGated(
                        dx: loraDx, dy: dy, ldy: ldy, x: loraInput, a: values.pointer(a), b: values.pointer(slots.b),
                        h: s.loraH[site.rawValue].pointer, rowFactors: f.baseAddress!, da: ga, db: gb, dfactors: df.baseAddress!,
                        rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, rank: slots.rank,
                        scratch: gateScratch2.reserve(2 * rows * slots.rank))
                }
            }
            gateGradient = (0..<(rowOffsets.count - 1)).map { b in (rowOffsets[b]..<rowOffsets[b + 1]).reduce(0) { $0 + dfactors[$1] } }
        } else {
            LoRAKernel.backward(
                dx: loraDx, dy: dy, ldy: ldy, x: loraInput, a: values.pointer(a), b: values.pointer(slots.b),
                h: s.loraH[site.rawValue].pointer, da: ga, db: gb, rows: rows, inFeatures: inFeatures,
                outFeatures: outFeatures, rank: slots.rank, scaling: slots.scaling, scratch: scratch)
        }
        if dropped, let dx, let loraDx, let dropout {
            dropout.apply(self, out: loraDx, x: loraDx, channels: inFeatures, p: slots.dropout, site: 8 + site.rawValue)
            Residual.accumulate(into: dx, loraDx, count: rows * inFeatures)
        }
        if let gate = slots.gate {
            gateGradient.withUnsafeBufferPointer {
                gateBackward(
                    gate, dmeans: $0.baseAddress!, x: layerInput, ldx: inFeatures, dx: dx, rowOffsets: rowOffsets,
                    buffer: s.gates[site.rawValue])
            }
        }
        if let dora = slots.dora {
            let dv = doraScratch.reserve(outFeatures * inFeatures)
            DoRAKernel.normBackward(
                dnorms: derivedGradient(dora.norms.name, count: dora.norms.count, zero: false), norms: values.pointer(dora.norms),
                v: values.pointer(dora.directions), a: values.pointer(a), b: values.pointer(slots.b), da: ga, db: gb,
                inFeatures: inFeatures, outFeatures: outFeatures, rank: slots.rank, scratch: dv)
        }
    }
}

extension AdapterModel {
    /// VeRA's backward at one site (`VeRAKernel`): `vera_D`, `vera_B`, and `dx` through its dropout mask when given.
    func veraInputGradient(
        _ slots: LoRASlots, _ vera: VeRASlots, site: LinearSite, dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>,
        ldy: Int, rows: Int, inFeatures: Int, outFeatures: Int, activations s: LayerActivations, dropout: RowDropout?
    ) {
        let dropped = dropout != nil && slots.dropout > 0
        var veraDx = dx
        if dropped, dx != nil {
            veraDx = adapterDropoutScratch.reserve(rows * inFeatures)
            veraDx?.update(repeating: 0, count: rows * inFeatures)
        }
        let r = slots.rank
        VeRAKernel.backward(
            dx: veraDx, dy: dy, ldy: ldy, a: values.pointer(vera.sharedA), b: values.pointer(vera.sharedB),
            d: values.pointer(vera.d), vb: values.pointer(slots.b), h: s.loraH[site.rawValue].pointer,
            dd: gradientOf[vera.d.name], dvb: gradientOf[slots.b.name], rows: rows, inFeatures: inFeatures,
            outFeatures: outFeatures, rank: r, scaling: slots.scaling,
            scratch: gateScratch2.reserve(2 * rows * r + 2 * rows * outFeatures))
        if dropped, let dx, let veraDx, let dropout {
            dropout.apply(self, out: veraDx, x: veraDx, channels: inFeatures, p: slots.dropout, site: 8 + site.rawValue)
            Residual.accumulate(into: dx, veraDx, count: rows * inFeatures)
        }
        guard let dora = slots.dora, let factors = dora.veraFactors else { return }
        // DVoRA: the norms' gradient reaches the factors V_D·A and V_B·B, then V_D and V_B.
        let dFactorA = derivedGradient(factors.a.name, count: r * inFeatures, zero: true)
        let dFactorB = derivedGradient(factors.b.name, count: outFeatures * r, zero: true)
        DoRAKernel.normBackward(
            dnorms: derivedGradient(dora.norms.name, count: dora.norms.count, zero: false), norms: values.pointer(dora.norms),
            v: values.pointer(dora.directions), a: values.pointer(factors.a), b: values.pointer(factors.b), da: dFactorA,
            db: dFactorB, inFeatures: inFeatures, outFeatures: outFeatures, rank: r,
            scratch: doraScratch.reserve(outFeatures * inFeatures))
        if let dd = gradientOf[vera.d.name] {
            GEMM.multiply(
                .none, .transpose, m: r, n: r, k: inFeatures, a: dFactorA, lda: inFeatures, b: values.pointer(vera.sharedA),
                ldb: inFeatures, beta: 1, c: dd, ldc: r)
        }
        if let dvb = gradientOf[slots.b.name] {
            GEMM.multiply(
                .none, .transpose, m: outFeatures, n: outFeatures, k: r, a: dFactorB, lda: r, b: values.pointer(vera.sharedB),
                ldb: r, beta: 1, c: dvb, ldc: outFeatures)
        }
    }
}
