import Adapters
import Kernels

/// Prefix tuning: every prefixed layer's queries attend to `length` trained keys and values before their
/// sequence's own tokens (`Attention` with an `AttentionPrefix`). The keys and values of all layers come
/// from one `control_trans` MLP (materialised once per forward pass, like Compacter's weights) or, flat,
/// are trained directly. AdapterHub keeps them in a pool shared by the layers
/// (`…prefix_tuning.prefix_tunings.NAME.self_prefix.*`); one model holds at most one prefix.
extension AdapterModel {
    struct PrefixSlots {
        let config: PrefixTuningConfig
        /// `wte.weight` `[P, C]` and `control_trans.{0,2}.*`; nil when flat.
        let mlp: (table: Arena.Slot, downWeight: Arena.Slot, downBias: Arena.Slot, upWeight: Arena.Slot, upBias: Arena.Slot)?
        /// `[P, N]`, N = layers · 2 · C: flat, the trained `control_trans`; else derived from the MLP.
        let keyValues: Arena.Slot
        let length: Int
        /// Prefixed layers (those not left out), in order: the j-th one reads columns `2j·C ..< (2j+2)·C`.
        let layers: Int
        var width: Int { keyValues.count / max(length, 1) }
    }

    /// Declares the prefix of adapter `name` under AdapterHub's names, initialised as PyTorch does: `wte` an
    /// `nn.Embedding` (N(0, 1)), the MLP's `nn.Linear`s (weights and biases U(±1/√fan_in)), a flat prefix
    /// `torch.randn`.
    static func declarePrefix(
        _ pc: PrefixTuningConfig, modelPrefix: String, name: String, layers: Int, hidden c: Int,
        into decl: inout SlotDeclarations
    ) -> PrefixSlots {
        let p = "\(modelPrefix)prefix_tuning.prefix_tunings.\(name).self_prefix."
        let n = layers * 2 * c
        if pc.flat {
            let flat = decl.train(p + "control_trans", [pc.prefixLength * n], initialize: .gaussian(1))
            return PrefixSlots(config: pc, mlp: nil, keyValues: flat, length: pc.prefixLength, layers: layers)
        }
        let d = pc.bottleneckSize
        let mlp = (
            table: decl.train(p + "wte.weight", [pc.prefixLength, c], initialize: .gaussian(1)),
            downWeight: decl.train(p + "control_trans.0.weight", [d, c], initialize: .kaimingUniform),
            downBias: decl.train(p + "control_trans.0.bias", [d], decay: false, initialize: .uniform(1 / Float(c).squareRoot())),
            upWeight: decl.train(p + "control_trans.2.weight", [n, d], initialize: .kaimingUniform),
            upBias: decl.train(p + "control_trans.2.bias", [n], decay: false, initialize: .uniform(1 / Float(d).squareRoot()))
        )
        return PrefixSlots(
            config: pc, mlp: mlp, keyValues: decl.derive(p + "key_values", [pc.prefixLength, n]), length: pc.prefixLength,
            layers: layers)
    }

    func prefixTensors(_ s: PrefixSlots) -> PrefixMLPTensors? {
        guard let m = s.mlp else { return nil }
        return PrefixMLPTensors(
            table: values.pointer(m.table), downWeight: values.pointer(m.downWeight), downBias: values.pointer(m.downBias),
            upWeight: values.pointer(m.upWeight), upBias: values.pointer(m.upBias))
    }

    /// Runs the MLP into the derived keys and values (and keeps its activations for the backward pass).
    func materializePrefix() {
        guard let s = prefix, let t = prefixTensors(s), let m = s.mlp else { return }
        let d = m.downBias.count
        PrefixMLP.forward(
            out: values.pointer(s.keyValues), tensors: t, pre: prefixScratch[0].reserve(s.length * d),
            act: prefixScratch[1].reserve(s.length * d), length: s.length, channels: config.hiddenSize, bottleneck: d,
            outputs: s.width, activation: s.config.nonLinearity)
    }

    /// Whether layer l's attention has prefix keys and values (`attentionPrefix` returns them).
    func hasAttentionPrefix(layer l: Int) -> Bool { prefix != nil && layerAdapters[l].prefix != nil }

    /// Layer `l`'s prefix keys and values, nil for a layer without. With a prefix gate (UniPELT), the gate of
    /// each sequence scales its keys and values: `computeGate` runs the gate on the layer's input `[M, C]` (the
    /// forward pass), else the means it kept in `gateBuffer` are used (the backward pass).
    func attentionPrefix(
        layer l: Int, input: UnsafePointer<Float>, rowOffsets: [Int], gateBuffer: ScratchBuffer, computeGate: Bool
    ) -> AttentionPrefix? {
        guard let s = prefix, let j = layerAdapters[l].prefix else { return nil }
        let rows = values.pointer(s.keyValues) + j * 2 * config.hiddenSize
        guard let gate = layerAdapters[l].prefixGate else {
            return AttentionPrefix(rows: rows, length: s.length, rowStride: s.width)
        }
        let means =
            computeGate
            ? gateForward(gate, values: values, x: input, ldx: config.hiddenSize, rowOffsets: rowOffsets, buffer: gateBuffer)
            : gateMeans(gate, rowOffsets: rowOffsets, buffer: gateBuffer)
        // Keys take the gate's first output, values its last (one shared output: both the same).
        let b = rowOffsets.count - 1
        let k = gate.outputs
        let scales = prefixScales.reserve(2 * b)
        for i in 0..<b {
            scales[i] = means[i * k]
            scales[b + i] = means[i * k + k - 1]
        }
        return AttentionPrefix(
            rows: rows, length: s.length, rowStride: s.width, keyScales: scales, valueScales: scales + b)
    }

    /// The gradient of the keys and values `[P, N]`, zeroed at the start of a backward pass.
    func prefixGradient(zero: Bool) -> UnsafeMutablePointer<Float>? {
        guard let s = prefix else { return nil }
        return derivedGradient("prefix key_values", count: s.keyValues.count, zero: zero)
    }

    /// Adds the per-sequence prefix gradients of layer `l` (`Attention.backward`'s `dprefix`, `[B, P, 2C]`, the
    /// gradients of the keys and values each sequence saw) into the layer's columns of the key/value gradient.
    /// With a gate (`attention` carries its scales) they are scaled by it, and the gate's own gradient
    /// `[B, outputs]` is returned (Σ dprefix ⊙ prefix over the keys, resp. values); else nil.
    func accumulatePrefixGradient(
        layer l: Int, perSequence: UnsafePointer<Float>, sequences b: Int, attention: AttentionPrefix
    ) -> [Float]? {
        guard let s = prefix, let j = layerAdapters[l].prefix, let g = prefixGradient(zero: false) else { return nil }
        let c = config.hiddenSize
        let c2 = 2 * c
        let gate = layerAdapters[l].prefixGate
        let k = gate?.outputs ?? 1
        var dmeans = [Float](repeating: 0, count: b * k)
        let kv = values.pointer(s.keyValues) + j * c2
        for seq in 0..<b {
            let (ks, vs) = (attention.keyScales?[seq] ?? 1, attention.valueScales?[seq] ?? 1)
            var (dk, dv): (Float, Float) = (0, 0)
            for r in 0..<s.length {
                let src = perSequence + (seq * s.length + r) * c2
                let dst = g + r * s.width + j * c2
                let row = kv + r * s.width
                for i in 0..<c {
                    dst[i] += ks * src[i]
                    dk += src[i] * row[i]
                }
                for i in c..<c2 {
                    dst[i] += vs * src[i]
                    dv += src[i] * row[i]
                }
            }
            dmeans[seq * k] += dk
            dmeans[seq * k + k - 1] += dv
        }
        return gate == nil ? nil : dmeans
    }

    /// Finishes the prefix's gradients from the key/value gradient: flat, it is the gradient; else through
    /// the MLP.
    func prefixBackward() {
        guard let s = prefix, let dkv = prefixGradient(zero: false) else { return }
        guard let t = prefixTensors(s), let m = s.mlp else {
            if let g = gradientOf[s.keyValues.name] { for i in 0..<s.keyValues.count { g[i] += dkv[i] } }
            return
        }
        let d = m.downBias.count
        let g = PrefixMLPGradients(
            table: gradientOf[m.table.name], downWeight: gradientOf[m.downWeight.name], downBias: gradientOf[m.downBias.name],
            upWeight: gradientOf[m.upWeight.name], upBias: gradientOf[m.upBias.name])
        PrefixMLP.backward(
            dout: dkv, tensors: t, grads: g, pre: prefixScratch[0].pointer, act: prefixScratch[1].pointer, length: s.length,
            channels: config.hiddenSize, bottleneck: d, outputs: s.width, activation: s.config.nonLinearity,
            scratch: prefixScratch[2].reserve(s.length * d))
    }
}

extension AdapterModel {
    /// The prefix's keys and values of every prefixed layer `[P · N]` (its flat form) and the name the flat
    /// form is saved under (`…self_prefix.control_trans`); nil without a prefix.
    public func prefixKeyValues() -> (name: String, values: [Float])? {
        guard let s = prefix else { return nil }
        materializePrefix()
        let base = s.keyValues.name.hasSuffix(".key_values") ? String(s.keyValues.name.dropLast("key_values".count)) : nil
        let name = base.map { $0 + "control_trans" } ?? s.keyValues.name
        return (name, Array(UnsafeBufferPointer(start: values.pointer(s.keyValues), count: s.keyValues.count)))
    }
}
