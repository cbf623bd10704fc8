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

    /// `out[i] = gelu(x[i])`, also rounding `x` to bf16 into `xBF16` (when given) while each block is in L1
    /// (bf16 training keeps the FFN pre-activation so for the backward pass).
    public static func forward(
        _ form: GELUForm, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int,
        keepingInput xBF16: UnsafeMutablePointer<UInt16>?
    ) {
        guard let xBF16 else { return forward(form, out: out, x: x, count: count) }
        blocks(count) { _, i, n in
            sa_f32_to_bf16(x + i, xBF16 + i, n)
            sa_gelu_forward(form.rawValue, out + i, x + i, n)
        }
    }

    /// `out[i] = bf16(gelu(x[i]))` — the GELU output in bf16 for a bf16 GEMM that would round it anyway —
    /// and, when `keepingInput` is given, `x` rounded to bf16 into it; block by block in L1.
    public static func forward(
        _ form: GELUForm, outBF16: UnsafeMutablePointer<UInt16>, x: UnsafePointer<Float>, count: Int,
        keepingInput xBF16: UnsafeMutablePointer<UInt16>?
    ) {
        blocks(count) { y, i, n in
            if let xBF16 { sa_f32_to_bf16(x + i, xBF16 + i, n) }
            sa_gelu_forward(form.rawValue, y, x + i, n)
            sa_f32_to_bf16(y, outBF16 + i, n)
        }
    }

    /// `out[i] = gelu(x[i])` with `x` in bf16, widened exactly a block at a time.
    public static func forward(
        _ form: GELUForm, out: UnsafeMutablePointer<Float>, xBF16: UnsafePointer<UInt16>, count: Int
    ) {
        widenedBlocks(xBF16, count: count) { x, i, n in sa_gelu_forward(form.rawValue, out + i, x, n) }
    }

    /// `dx[i] (+)= dout[i] · gelu'(x[i])` with `x` in bf16, widened exactly a block at a time (in L1).
    public static func backward(
        _ form: GELUForm, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, xBF16: UnsafePointer<UInt16>,
        count: Int, accumulate: Bool = false
    ) {
        widenedBlocks(xBF16, count: count) { x, i, n in
            sa_gelu_backward(form.rawValue, dx + i, dout + i, x, n, accumulate ? 1 : 0)
        }
    }

    /// Elements per block of the bf16 variants: 16 KB of fp32, well inside L1.
    private static let blockSize = 4096

    /// Runs `body(x, start, count)` over `xBF16` widened to fp32 block by block, spread over the workers.
    private static func widenedBlocks(
        _ xBF16: UnsafePointer<UInt16>, count: Int, _ body: (UnsafePointer<Float>, Int, Int) -> Void
    ) {
        blocks(count) { x, i, n in
            sa_bf16_to_f32(xBF16 + i, x, n)
            body(x, i, n)
        }
    }

    /// Runs `body(buffer, start, count)` over `0..<count` in blocks of `blockSize`, spread over the workers, each
    /// with a `blockSize`-float buffer of its own.
    private static func blocks(_ count: Int, _ body: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        Threading.parallelRanges(count, minChunk: 1 << 15) { range in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: blockSize)
            defer { buffer.deallocate() }
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(blockSize, range.upperBound - i)
                body(buffer, i, n)
                i += n
            }
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
