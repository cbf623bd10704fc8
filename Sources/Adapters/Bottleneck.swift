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

/// The factor on a bottleneck's output: fixed, or a learned tensor of 1 (`"learned"`) or C (`"channel"`)
/// values, broadcast over the rows (and, for one value, the channels).
public enum BottleneckScale {
    case fixed(Float)
    case learned(UnsafeMutablePointer<Float>, count: Int)

    /// `x[M, C] *= scale` in place.
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, channels c: Int) {
        switch self {
        case .fixed(let s):
            if s != 1 { for i in 0..<(rows * c) { x[i] *= s } }
        case .learned(let v, let count):
            if count == 1 {
                let s = v[0]
                for i in 0..<(rows * c) { x[i] *= s }
            } else {
                for r in 0..<rows {
                    let row = x + r * c
                    for j in 0..<c { row[j] *= v[j] }
                }
            }
        }
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
        bottleneck d: Int, activation: AdapterActivation, scale: BottleneckScale
    ) {
        Linear.forward(out: pre, x: x, weight: w.downWeight, bias: w.downBias, rows: rows, inFeatures: c, outFeatures: d)
        ActivationKernel.forward(activation, out: act, x: pre, count: rows * d)
        Linear.forward(out: out, x: act, weight: w.upWeight, bias: w.upBias, rows: rows, inFeatures: d, outFeatures: c)
        scale.apply(out, rows: rows, channels: c)
    }

    /// Backward of `forward`: `dx` receives (or, with `accumulate`, adds) `∂L/∂x`; gradients of
    /// the four tensors are accumulated into `grads` when given, and a learned scale's into `dscale`.
    /// `dout` is `∂L/∂out`; `scratch` needs `M·C + M·d` floats.
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, accumulate: Bool, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        weights w: BottleneckTensors, grads: BottleneckTensors?, pre: UnsafePointer<Float>, act: UnsafePointer<Float>,
        rows: Int, channels c: Int, bottleneck d: Int, activation: AdapterActivation, scale: BottleneckScale,
        dscale: UnsafeMutablePointer<Float>? = nil, scratch: UnsafeMutablePointer<Float>
    ) {
        var dup = dout
        switch scale {
        case .fixed(let s):
            if s != 1 {
                for i in 0..<(rows * c) { scratch[i] = dout[i] * s }
                dup = UnsafePointer(scratch)
            }
        case .learned(let v, let count):
            if let dscale {
                // ∂L/∂s = Σ dout ⊙ up, with up (before scaling) recomputed: one [M, d]·[d, C] product,
                // cheaper than keeping an [M, C] activation per adapter.
                Linear.forward(out: scratch, x: act, weight: w.upWeight, bias: w.upBias, rows: rows, inFeatures: d, outFeatures: c)
                for r in 0..<rows {
                    let g = dout + r * c
                    let u = scratch + r * c
                    if count == 1 {
                        var sum: Float = 0
                        for j in 0..<c { sum += g[j] * u[j] }
                        dscale[0] += sum
                    } else {
                        for j in 0..<c { dscale[j] += g[j] * u[j] }
                    }
                }
            }
            scratch.update(from: dout, count: rows * c)
            BottleneckScale.learned(v, count: count).apply(scratch, rows: rows, channels: c)
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
