import Kernels

/// Pointers to a prefix-tuning reparameterisation's tensors (AdapterHub names in comments).
public struct PrefixMLPTensors {
    public var table: UnsafeMutablePointer<Float>  // wte.weight [P, C]
    public var downWeight: UnsafeMutablePointer<Float>  // control_trans.0.weight [d, C]
    public var downBias: UnsafeMutablePointer<Float>  // control_trans.0.bias [d]
    public var upWeight: UnsafeMutablePointer<Float>  // control_trans.2.weight [N, d]
    public var upBias: UnsafeMutablePointer<Float>  // control_trans.2.bias [N]

    public init(
        table: UnsafeMutablePointer<Float>, downWeight: UnsafeMutablePointer<Float>, downBias: UnsafeMutablePointer<Float>,
        upWeight: UnsafeMutablePointer<Float>, upBias: UnsafeMutablePointer<Float>
    ) {
        self.table = table
        self.downWeight = downWeight
        self.downBias = downBias
        self.upWeight = upWeight
        self.upBias = upBias
    }
}

/// Prefix tuning's `control_trans` MLP: the prefix keys and values of every layer,
/// `KV = f(wte · W₁ᵀ + b₁) · W₂ᵀ + b₂` `[P, N]`, N = n_layers · 2 · C. Row p, columns `2j·C ..< (2j+1)·C`
/// hold the key of prefix position p in the j-th prefixed layer (head h at `h·D`), the next C its value —
/// the layout of AdapterHub's `view(P, n_layers·2, n_heads, D)`.
public enum PrefixMLP {
    /// - Parameters: out `[P, N]`; pre, act `[P, d]` kept for the backward pass.
    public static func forward(
        out: UnsafeMutablePointer<Float>, tensors t: PrefixMLPTensors, pre: UnsafeMutablePointer<Float>,
        act: UnsafeMutablePointer<Float>, length p: Int, channels c: Int, bottleneck d: Int, outputs n: Int,
        activation: AdapterActivation
    ) {
        Linear.forward(out: pre, x: t.table, weight: t.downWeight, bias: t.downBias, rows: p, inFeatures: c, outFeatures: d)
        ActivationKernel.forward(activation, out: act, x: pre, count: p * d)
        Linear.forward(out: out, x: act, weight: t.upWeight, bias: t.upBias, rows: p, inFeatures: d, outFeatures: n)
    }

    /// Backward from `dout` `[P, N]`, accumulating into the gradients `grads` (any may be nil: not trained).
    /// `scratch` holds `P·d` floats.
    public static func backward(
        dout: UnsafePointer<Float>, tensors t: PrefixMLPTensors, grads g: PrefixMLPGradients, pre: UnsafePointer<Float>,
        act: UnsafePointer<Float>, length p: Int, channels c: Int, bottleneck d: Int, outputs n: Int,
        activation: AdapterActivation, scratch: UnsafeMutablePointer<Float>
    ) {
        let dAct = scratch
        Linear.backward(
            dx: dAct, dweight: g.upWeight, dbias: g.upBias, dout: dout, x: act, weight: t.upWeight, rows: p, inFeatures: d,
            outFeatures: n)
        ActivationKernel.backward(activation, dx: dAct, dout: dAct, x: pre, count: p * d)
        Linear.backward(
            dx: g.table, dweight: g.downWeight, dbias: g.downBias, dout: dAct, x: t.table, weight: t.downWeight, rows: p,
            inFeatures: c, outFeatures: d, accumulateInput: true)
    }
}

/// Gradient buffers of `PrefixMLPTensors` (nil: no gradient wanted).
public struct PrefixMLPGradients {
    public var table, downWeight, downBias, upWeight, upBias: UnsafeMutablePointer<Float>?

    public init(
        table: UnsafeMutablePointer<Float>?, downWeight: UnsafeMutablePointer<Float>?, downBias: UnsafeMutablePointer<Float>?,
        upWeight: UnsafeMutablePointer<Float>?, upBias: UnsafeMutablePointer<Float>?
    ) {
        self.table = table
        self.downWeight = downWeight
        self.downBias = downBias
        self.upWeight = upWeight
        self.upBias = upBias
    }
}
