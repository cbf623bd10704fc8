import Adapters
import Foundation
import Kernels

extension TrainingMode {
    var isFuse: Bool {
        if case .fuse = self { return true }
        return false
    }
}

/// One location's AdapterFusion layer (`…adapter_fusion_layer.NAME.{query,key,value}`).
struct FusionSlots {
    let query: (weight: Arena.Slot, bias: Arena.Slot)?
    let key: (weight: Arena.Slot, bias: Arena.Slot)?
    /// `[C, C]`, no bias.
    let value: Arena.Slot?
    let config: FusionConfig
    /// The layer's tensor prefix, which names it among the model's fusion layers.
    let id: String
    /// The dropout stream of its scores (`dropoutSeed` site): 4 after attention, 15 after the feed-forward block.
    let dropoutSite: Int
}

/// A fusion layer's forward values for its backward pass (rows × C each, `k` of the per-adapter ones).
final class FusionSaved {
    var h: [Float] = []
    var ups: [[Float]] = []
    var query: [Float] = []
    var keys: [[Float]] = []
    /// The values before the value matrix (u_i, or u_i + h with `residual_before`).
    var valueInputs: [[Float]] = []
    var values: [[Float]] = []
    /// The weighted sum before the value matrix (`value_before_softmax` false).
    var contextBeforeValue: [Float] = []
    /// Softmax probabilities `[rows, k]`.
    var probs: [Float] = []
}

extension AdapterModel {
    /// Checks a `Fuse`'s adapters and declares a fusion layer at every location they share, under AdapterHub's
    /// names (`roberta.encoder.layer.L.output.adapter_fusion_layer.a,b.query.weight`, `…attention.output…` for
    /// double_seq_bn's attention adapters). Fused adapters are sequential bottlenecks at the same locations.
    static func placeFusion(
        _ adapters: [NamedAdapter], fusion: FusionConfig, block: Int = 0, modelPrefix: String, hidden c: Int,
        in layers: inout [LayerAdapter],
        into decl: inout SlotDeclarations
    ) throws {
        let k = adapters.count
        guard k >= 2 else { throw EncoderError.invalidInput("a Fuse needs at least 2 adapters, got \(k)") }
        for adapter in adapters {
            for member in adapter.config.members {
                guard case .bottleneck(let bn) = member, !bn.isParallel, !bn.useGating, !bn.normFreeOutput,
                    bn.residualBeforeLn == .bool(true), bn.invAdapter == nil
                else {
                    throw EncoderError.invalidInput(
                        "Fuse: '\(adapter.name)' is \(adapter.config.methodName); AdapterFusion combines sequential bottleneck adapters (seq_bn, double_seq_bn and their variants) without gates or invertible adapters"
                    )
                }
            }
        }
        let name = adapters.map(\.name).joined(separator: ",")
        for l in layers.indices {
            func place(_ slots: inout [BottleneckSlots], _ location: String, site: Int) throws {
                let members = slots.indices.filter { slots[$0].block == block }
                guard !members.isEmpty else { return }
                guard members.count == k else {
                    throw EncoderError.invalidInput(
                        "Fuse: layer \(l)'s \(location) holds \(members.count) of the \(k) adapters; every fused adapter must sit at the same locations"
                    )
                }
                let p = "\(modelPrefix)encoder.layer.\(l).\(location).adapter_fusion_layer.\(name)."
                func linear(_ part: String) -> (weight: Arena.Slot, bias: Arena.Slot) {
                    (decl.train(p + part + ".weight", [c, c]), decl.train(p + part + ".bias", [c], decay: false))
                }
                let fs = FusionSlots(
                    query: fusion.query ? linear("query") : nil, key: fusion.key ? linear("key") : nil,
                    value: fusion.value
                        ? decl.train(
                            p + "value.weight", [c, c],
                            initialize: fusion.valueInitialized ? .scaledIdentity(1) : .normal)
                        : nil,
                    config: fusion, id: p, dropoutSite: site)
                for i in members { slots[i].fusion = fs }
            }
            try place(&layers[l].attention, "attention.output", site: 4)
            try place(&layers[l].output, "output", site: 15)
        }
    }

    /// A Fuse at one location (inference): u_i = s_i·f_i(a) for each adapter on a = `adapterInput(h)` (the layer's
    /// LayerNorm of h + r for seq_bn, h for double_seq_bn), then BertFusion: Q = W_q·q + b_q with q = a (or h with
    /// `query_before_ln`), K_i = W_k·u_i + b_k, V_i = W_v·u_i (with `residual_before`, V_i = W_v·(u_i + h)), p = softmax_i
    /// (Q·K_i) per token, and o = h + Σ_i p_i·V_i (W_v after the sum when not `value_before_softmax`; h added to the
    /// values instead with `residual_before`). Returns o in `tmp`; the caller applies LN(o + r).
    func bottleneckFusion(
        _ stack: [BottleneckSlots], fusion: FusionSlots, h: UnsafeMutablePointer<Float>, rows m: Int,
        tmp: UnsafeMutablePointer<Float>, pre: ScratchBuffer, act: ScratchBuffer,
        adapterInput: (UnsafePointer<Float>) -> UnsafePointer<Float>
    ) -> UnsafePointer<Float> {
        let c = config.hiddenSize
        let k = stack.count
        let cfg = fusion.config
        let a = stack[0].originalLnBefore ? adapterInput(UnsafePointer(h)) : UnsafePointer(h)
        // The adapters' up-projections [k][M, C], and the values [k][M, C].
        var ups = [[Float]](repeating: [Float](repeating: 0, count: m * c), count: k)
        for (i, slots) in stack.enumerated() {
            ups[i].withUnsafeMutableBufferPointer { u in
                Bottleneck.forward(
                    out: u.baseAddress!, x: a, weights: bottleneckTensors(slots), pre: pre.reserve(m * slots.size),
                    act: act.reserve(m * slots.size), rows: m, channels: c, bottleneck: slots.size,
                    activation: slots.activation, scale: bottleneckScale(slots))
            }
        }
        let queryInput = cfg.queryBeforeLn ? UnsafePointer(h) : a
        var q = [Float](repeating: 0, count: m * c)
        q.withUnsafeMutableBufferPointer { qp in
            if let query = fusion.query {
                Linear.forward(
                    out: qp.baseAddress!, x: queryInput, weight: values.pointer(query.weight),
                    bias: values.pointer(query.bias),
                    rows: m, inFeatures: c, outFeatures: c)
            } else {
                qp.baseAddress!.update(from: queryInput, count: m * c)
            }
        }
        func linear(_ x: [Float], _ w: Arena.Slot, _ b: Arena.Slot?) -> [Float] {
            var y = [Float](repeating: 0, count: m * c)
            y.withUnsafeMutableBufferPointer { yp in
                Linear.forward(
                    out: yp.baseAddress!, x: x, weight: values.pointer(w), bias: b.map { values.pointer($0) }, rows: m,
                    inFeatures: c, outFeatures: c)
            }
            return y
        }
        let keys = ups.map { u in fusion.key.map { linear(u, $0.weight, $0.bias) } ?? u }
        var inputs = ups
        if cfg.residualBefore {
            for i in 0..<k { for j in 0..<(m * c) { inputs[i][j] += h[j] } }
        }
        var vals = inputs
        if let value = fusion.value, cfg.valueBeforeSoftmax {
            vals = vals.map { linear($0, value, nil) }
        }
        // Scores Q·K_i per row, dropped out in training as BertFusion does (before the softmax).
        var probs = [Float](repeating: 0, count: m * k)
        for r in 0..<m {
            for i in 0..<k {
                var s: Float = 0
                for j in 0..<c { s += q[r * c + j] * keys[i][r * c + j] }
                probs[r * k + i] = s
            }
        }
        dropScores(&probs, fusion: fusion, adapters: k)
        var context = [Float](repeating: 0, count: m * c)
        for r in 0..<m {
            var mx = -Float.infinity
            for i in 0..<k { mx = max(mx, probs[r * k + i]) }
            var total: Float = 0
            for i in 0..<k {
                probs[r * k + i] = Foundation.exp(probs[r * k + i] - mx)
                total += probs[r * k + i]
            }
            for i in 0..<k {
                probs[r * k + i] /= total
                let w = probs[r * k + i]
                for j in 0..<c { context[r * c + j] += w * vals[i][r * c + j] }
            }
        }
        if parameters.trainable {
            let saved = fusionSaved[fusion.id] ?? FusionSaved()
            fusionSaved[fusion.id] = saved
            saved.h = Array(UnsafeBufferPointer(start: h, count: m * c))
            saved.ups = ups
            saved.query = q
            saved.keys = keys
            saved.valueInputs = inputs
            saved.values = vals
            saved.contextBeforeValue = context
            saved.probs = probs
        }
        if let value = fusion.value, !cfg.valueBeforeSoftmax {
            context = linear(context, value, nil)
        }
        if !cfg.residualBefore {
            for j in 0..<(m * c) { context[j] += h[j] }
        }
        tmp.update(from: context, count: m * c)
        return UnsafePointer(tmp)
    }

    /// BertFusion's dropout on the scores `[rows, k]` in training (the fusion's `dropout_prob`, else the model's
    /// attention dropout); the backward pass applies the same call to the scores' gradient.
    func dropScores(_ scores: inout [Float], fusion: FusionSlots, adapters k: Int) {
        let p = Float(fusion.config.dropoutProb ?? Double(config.attentionProbsDropoutProb))
        guard let dropout = fusionRowDropout, p > 0 else { return }
        scores.withUnsafeMutableBufferPointer {
            dropout.apply(self, out: $0.baseAddress!, x: $0.baseAddress!, channels: k, p: p, site: fusion.dropoutSite)
        }
    }

    /// Backward of `bottleneckFusion` at a layer's output location from `dout` = dL/do `[rows, C]`: the fusion
    /// layer's gradients, and through the frozen adapters (recomputed from `a`) and the query into `da` (dL/da, a =
    /// the adapters' input) and `dh` (dL/dh, the sub-block's output before the adapters), both overwritten.
    func fusionBackward(
        _ stack: [BottleneckSlots], fusion: FusionSlots, dout: UnsafePointer<Float>, a: UnsafePointer<Float>,
        rows m: Int,
        da: UnsafeMutablePointer<Float>, dh: UnsafeMutablePointer<Float>
    ) {
        guard let saved = fusionSaved[fusion.id] else { return }
        let c = config.hiddenSize
        let k = stack.count
        let cfg = fusion.config
        let grad = { (slot: Arena.Slot) -> UnsafeMutablePointer<Float>? in self.gradientOf[slot.name] }
        da.update(repeating: 0, count: m * c)
        dh.update(repeating: 0, count: m * c)
        // o = h + ctx (or ctx alone with residual_before).
        if !cfg.residualBefore { dh.update(from: dout, count: m * c) }
        var dctx = Array(UnsafeBufferPointer(start: dout, count: m * c))
        if let value = fusion.value, !cfg.valueBeforeSoftmax {
            var d = [Float](repeating: 0, count: m * c)
            d.withUnsafeMutableBufferPointer { dp in
                Linear.backward(
                    dx: dp.baseAddress!, dweight: grad(value), dbias: nil, dout: dout, x: saved.contextBeforeValue,
                    weight: values.pointer(value), rows: m, inFeatures: c, outFeatures: c)
            }
            dctx = d
        }
        // ctx = Σ_i p_i V_i: dV_i = p_i dctx, dp_i = dctx·V_i, dscore_i = p_i (dp_i − Σ_j p_j dp_j).
        var dvals = [[Float]](repeating: [Float](repeating: 0, count: m * c), count: k)
        var dscores = [Float](repeating: 0, count: m * k)
        var dp = [Float](repeating: 0, count: k)
        for r in 0..<m {
            var mean: Float = 0
            for i in 0..<k {
                let p = saved.probs[r * k + i]
                var s: Float = 0
                for j in 0..<c {
                    s += dctx[r * c + j] * saved.values[i][r * c + j]
                    dvals[i][r * c + j] = p * dctx[r * c + j]
                }
                dp[i] = s
                mean += p * s
            }
            for i in 0..<k { dscores[r * k + i] = saved.probs[r * k + i] * (dp[i] - mean) }
        }
        dropScores(&dscores, fusion: fusion, adapters: k)
        // scores_i = Q·K_i.
        var dq = [Float](repeating: 0, count: m * c)
        var dkeys = [[Float]](repeating: [Float](repeating: 0, count: m * c), count: k)
        for r in 0..<m {
            for i in 0..<k {
                let g = dscores[r * k + i]
                for j in 0..<c {
                    dq[r * c + j] += g * saved.keys[i][r * c + j]
                    dkeys[i][r * c + j] = g * saved.query[r * c + j]
                }
            }
        }
        // The adapters' up-projections collect what reaches them through the values and the keys.
        var dups = dvals
        if let value = fusion.value, cfg.valueBeforeSoftmax {
            for i in 0..<k {
                dups[i].withUnsafeMutableBufferPointer { dp in
                    Linear.backward(
                        dx: dp.baseAddress!, dweight: grad(value), dbias: nil, dout: dvals[i], x: saved.valueInputs[i],
                        weight: values.pointer(value), rows: m, inFeatures: c, outFeatures: c)
                }
            }
        }
        if cfg.residualBefore {
            for i in 0..<k { for j in 0..<(m * c) { dh[j] += dups[i][j] } }
        }
        for i in 0..<k {
            if let key = fusion.key {
                var d = [Float](repeating: 0, count: m * c)
                d.withUnsafeMutableBufferPointer { dp in
                    Linear.backward(
                        dx: dp.baseAddress!, dweight: grad(key.weight), dbias: grad(key.bias), dout: dkeys[i],
                        x: saved.ups[i],
                        weight: values.pointer(key.weight), rows: m, inFeatures: c, outFeatures: c)
                }
                for j in 0..<(m * c) { dups[i][j] += d[j] }
            } else {
                for j in 0..<(m * c) { dups[i][j] += dkeys[i][j] }
            }
        }
        // The query reads a (or h with query_before_ln).
        let dqIn = cfg.queryBeforeLn ? dh : da
        if let query = fusion.query {
            var d = [Float](repeating: 0, count: m * c)
            let qin = cfg.queryBeforeLn ? saved.h : Array(UnsafeBufferPointer(start: a, count: m * c))
            d.withUnsafeMutableBufferPointer { dp in
                Linear.backward(
                    dx: dp.baseAddress!, dweight: grad(query.weight), dbias: grad(query.bias), dout: dq, x: qin,
                    weight: values.pointer(query.weight), rows: m, inFeatures: c, outFeatures: c)
            }
            for j in 0..<(m * c) { dqIn[j] += d[j] }
        } else {
            for j in 0..<(m * c) { dqIn[j] += dq[j] }
        }
        // Through each frozen adapter to a (its activations recomputed).
        let up = scratchF.reserve(m * c)
        // Bottleneck.backward's scratch: the scaled gradient [rows, C] and the activation's [rows, d].
        let scratch = doraScratch.reserve(m * c + m * (stack.map(\.size).max() ?? 0))
        for (i, slots) in stack.enumerated() {
            let pre = reftScratch.reserve(2 * m * slots.size)
            let act = pre + m * slots.size
            Bottleneck.forward(
                out: up, x: a, weights: bottleneckTensors(slots), pre: pre, act: act, rows: m, channels: c,
                bottleneck: slots.size, activation: slots.activation, scale: bottleneckScale(slots))
            Bottleneck.backward(
                dx: da, accumulate: true, dout: dups[i], x: a, weights: bottleneckTensors(slots), grads: nil, pre: pre,
                act: act, rows: m, channels: c, bottleneck: slots.size, activation: slots.activation,
                scale: bottleneckScale(slots), scratch: scratch)
        }
    }

    /// AdapterHub's fusion regularization gradient, d(0.01·‖I − W_v‖²)/dW_v = 0.02·(W_v − I), added to every trained
    /// value matrix's gradient. Its trainer adds it after each optimizer step, so it reaches the next step's update
    /// (`DataParallelStep` adds it from the second step on), and — in adapters 1.3.0 — for every fusion layer with a
    /// value matrix, whatever the config's `regularization` says; so here too.
    public func addFusionRegularizationGradient() {
        let c = config.hiddenSize
        var seen: Set<String> = []
        for layer in layerAdapters {
            // A location's fusion layer (after the adapters stacked before it, in a composed Stack), once.
            for fusion in (layer.attention + layer.output).compactMap(\.fusion) where seen.insert(fusion.id).inserted {
                guard let value = fusion.value, let g = gradientOf[value.name] else { continue }
                let w = values.pointer(value)
                for r in 0..<c {
                    for j in 0..<c { g[r * c + j] += 0.02 * (w[r * c + j] - (r == j ? 1 : 0)) }
                }
            }
        }
    }
}
