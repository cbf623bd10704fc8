/// GELU, in the two forms HF configs name with `hidden_act`:
/// - `gelu` (BERT, RoBERTa): `0.5·x·(1 + erf(x/√2))`, the exact form;
/// - `gelu_new` / `gelu_pytorch_tanh`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
public enum GELUForm: Sendable {
    case erf
    case tanh
}

public enum GELU {
    /// `out[i] = gelu(x[i])` for `count` elements; `out` may equal `x`.
    public static func forward(
        _ form: GELUForm, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int
    ) {
        Threading.parallelRanges(count, minChunk: 1 << 15) { range in
            let xs = x + range.lowerBound
            let os = out + range.lowerBound
            mapVectors(range.count) { i, lanes in
                let v = loadPartial(xs, i, lanes)
                storePartial(os, i, lanes, value(form, v))
            }
        }
    }

    /// `dx[i] (+)= dout[i] · gelu'(x[i])`; accumulates when `accumulate` is true.
    public static func backward(
        _ form: GELUForm, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
        x: UnsafePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        Threading.parallelRanges(count, minChunk: 1 << 15) { range in
            let xs = x + range.lowerBound
            let ds = dout + range.lowerBound
            let dxs = dx + range.lowerBound
            mapVectors(range.count) { i, lanes in
                let v = loadPartial(xs, i, lanes)
                var g = derivative(form, v) * loadPartial(ds, i, lanes)
                if accumulate { g += loadPartial(UnsafePointer(dxs), i, lanes) }
                storePartial(dxs, i, lanes, g)
            }
        }
    }

    @inlinable @inline(__always)
    static func value(_ form: GELUForm, _ x: FloatVector) -> FloatVector {
        switch form {
        case .erf:
            return 0.5 * x * (1 + VectorMath.erf(x * 0.707_106_781_186_547_5))
        case .tanh:
            let u = 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)
            return 0.5 * x * (1 + VectorMath.tanh(u))
        }
    }

    @inlinable @inline(__always)
    static func derivative(_ form: GELUForm, _ x: FloatVector) -> FloatVector {
        switch form {
        case .erf:
            // d/dx = Φ(x) + x·φ(x)
            let cdf = 0.5 * (1 + VectorMath.erf(x * 0.707_106_781_186_547_5))
            let pdf = 0.398_942_280_401_432_7 * VectorMath.exp(-0.5 * x * x)
            return cdf + x * pdf
        case .tanh:
            let x2 = x * x
            let u = 0.797_884_560_802_865_4 * (x + 0.044_715 * x2 * x)
            let t = VectorMath.tanh(u)
            let du = 0.797_884_560_802_865_4 * (1 + 3 * 0.044_715 * x2)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
        }
    }
}
