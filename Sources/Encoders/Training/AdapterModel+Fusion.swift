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
}

extension AdapterModel {
    /// Checks a `Fuse`'s adapters and declares a fusion layer at every location they share, under AdapterHub's
    /// names (`roberta.encoder.layer.L.output.adapter_fusion_layer.a,b.query.weight`, `…attention.output…` for
    /// double_seq_bn's attention adapters). Fused adapters are sequential bottlenecks at the same locations.
    static func placeFusion(
        _ adapters: [NamedAdapter], fusion: FusionConfig, modelPrefix: String, hidden c: Int,
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
            func place(_ slots: inout [BottleneckSlots], _ location: String) throws {
                guard !slots.isEmpty else { return }
                guard slots.count == k else {
                    throw EncoderError.invalidInput(
                        "Fuse: layer \(l)'s \(location) holds \(slots.count) of the \(k) adapters; every fused adapter must sit at the same locations"
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
                    config: fusion)
                for i in slots.indices { slots[i].fusion = fs }
            }
            try place(&layers[l].attention, "attention.output")
            try place(&layers[l].output, "output")
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
        var vals = ups
        if cfg.residualBefore {
            for i in 0..<k { for j in 0..<(m * c) { vals[i][j] += h[j] } }
        }
        if let value = fusion.value, cfg.valueBeforeSoftmax {
            vals = vals.map { linear($0, value, nil) }
        }
        var context = [Float](repeating: 0, count: m * c)
        var scores = [Float](repeating: 0, count: k)
        for r in 0..<m {
            let qr = r * c
            var mx = -Float.infinity
            for i in 0..<k {
                var s: Float = 0
                for j in 0..<c { s += q[qr + j] * keys[i][qr + j] }
                scores[i] = s
                mx = max(mx, s)
            }
            var total: Float = 0
            for i in 0..<k {
                scores[i] = Foundation.exp(scores[i] - mx)
                total += scores[i]
            }
            for i in 0..<k {
                let p = scores[i] / total
                for j in 0..<c { context[qr + j] += p * vals[i][qr + j] }
            }
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
}
