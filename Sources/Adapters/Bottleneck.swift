import Kernels

/// Pointers to one bottleneck adapter's tensors (AdapterHub names in comments).
public struct BottleneckTensors {
    public var downWeight: UnsafeMutablePointer<Float>  // adapter_down.0.weight [d, C]
    public var downBias: UnsafeMutablePointer<Float>  // adapter_down.0.bias [d]
    public var upWeight: UnsafeMutablePointer<Float>  // adapter_up.weight [C, d]
    public var upBias: UnsafeMutablePointer<Float>  // adapter_up.bias [C]

    public init(
        downWeight: UnsafeMutablePointer<Float>, downBias: UnsafeMutablePointer<Float>,
        upWeight: UnsafeMutablePointer<Float>, upBias: UnsafeMutablePointer<Float>
    ) {
        self.downWeight = downWeight
        self.downBias = downBias
        self.upWeight = upWeight
        self.upBias = upBias
    }
}

/// The bottleneck `f(x) = s · (W_up · act(W_down · x + b_down) + b_up)` of AdapterHub's `Adapter`
/// (without its residual, which depends on where the adapter sits: see `LayerAdapters`).
public enum Bottleneck {
    /// - Parameters: out `[M, C]` (overwritten), x `[M, C]`; `pre` and `act` `[M, d]` receive the
    ///   down-projection before and after the activation (kept for the backward pass).
    public static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weights w: BottleneckTensors,
        pre: UnsafeMutablePointer<Float>, act: UnsafeMutablePointer<Float>, rows: Int, channels c: Int,
        bottleneck d: Int, activation: AdapterActivation, scaling: Float
    ) {
        Linear.forward(out: pre, x: x, weight: w.downWeight, bias: w.downBias, rows: rows, inFeatures: c, outFeatures: d)
        ActivationKernel.forward(activation, out: act, x: pre, count: rows * d)
        Linear.forward(out: out, x: act, weight: w.upWeight, bias: w.upBias, rows: rows, inFeatures: d, outFeatures: c)
        if scaling != 1 {
            for i in 0..<(rows * c) { out[i] *= scaling }
        }
    }

    /// Backward of `forward`: `dx` receives (or, with `accumulate`, adds) `∂L/∂x`; gradients of
    /// the four tensors are accumulated into `grads` when given. `dout` is `∂L/∂out`; `scratch`
    /// needs `M·C + M·d` floats.
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        weights w: BottleneckTensors, grads: BottleneckTensors?, pre: UnsafePointer<Float>, act: UnsafePointer<Float>,
        rows: Int, channels c: Int, bottleneck d: Int, activation: AdapterActivation, scaling: Float,
        scratch: UnsafeMutablePointer<Float>
    ) {
        var dup = dout
        if scaling != 1 {
            for i in 0..<(rows * c) { scratch[i] = dout[i] * scaling }
            dup = UnsafePointer(scratch)
        }
        let dact = scratch + rows * c
        // up: out = act·W_upᵀ + b_up
        Linear.backward(
            dx: dact, dweight: grads?.upWeight, dbias: grads?.upBias, dout: dup, x: act, weight: w.upWeight,
            rows: rows, inFeatures: d, outFeatures: c)
        ActivationKernel.backward(activation, dx: dact, dout: dact, x: pre, count: rows * d)
        Linear.backward(
            dx: dx, dweight: grads?.downWeight, dbias: grads?.downBias, dout: dact, x: x, weight: w.downWeight,
            rows: rows, inFeatures: c, outFeatures: d, accumulateInput: accumulate)
    }
}
