import CVectorKernels

/// GELU, in the two forms HF configs name with `hidden_act`:
/// - `gelu` (BERT, RoBERTa): `0.5·x·(1 + erf(x/√2))`, the exact form;
/// - `gelu_new` / `gelu_pytorch_tanh`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
/// The inner loops are in CVectorKernels (AVX-512/AVX2 clones); erf and exp there are polynomial
/// approximations with absolute error below 5e-7.
public enum GELUForm: Int32, Sendable {
    case erf = 0
    case tanh = 1
}

public enum GELU {
    /// `out[i] = gelu(x[i])` for `count` elements; `out` may equal `x`.
    public static func forward(
        _ form: GELUForm, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int
    ) {
        Threading.parallelRanges(count, minChunk: 1 << 15) { range in
            sa_gelu_forward(form.rawValue, out + range.lowerBound, x + range.lowerBound, range.count)
        }
    }

    /// `dx[i] (+)= dout[i] · gelu'(x[i])`; accumulates when `accumulate` is true.
    public static func backward(
        _ form: GELUForm, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
        x: UnsafePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        Threading.parallelRanges(count, minChunk: 1 << 15) { range in
            let lo = range.lowerBound
            sa_gelu_backward(form.rawValue, dx + lo, dout + lo, x + lo, range.count, accumulate ? 1 : 0)
        }
    }
}
