/// A fully connected layer with HF's weight layout: `y = x·Wᵀ + b`, `W` is `[out, in]`.
public enum Linear {
    /// Whether `forward` applies an `activation` inside its GEMM (batch-1 shapes) rather than as a
    /// pass of its own afterwards; profiles use it to file the time under the right kernel family.
    public static func fusesActivation(rows: Int, inFeatures: Int) -> Bool {
        SkinnyGEMM.applies(m: rows, k: inFeatures)
    }

    /// - Parameters: out `[rows, outFeatures]`, x `[rows, inFeatures]`, weight `[outFeatures,
    ///   inFeatures]`, bias `[outFeatures]` or nil. `accumulate` adds to `out` instead of overwriting.
    ///   `activation`, when given, is applied to the result: `out = gelu(x·Wᵀ + b)` (the feed-forward's
    ///   first layer at inference, where no pre-activation is kept).
    public static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int,
        accumulate: Bool = false, activation: GELUForm? = nil
    ) {
        forward(
            out: out, x: x, weight: .fp32(weight), bias: bias, rows: rows, inFeatures: inFeatures,
            outFeatures: outFeatures, accumulate: accumulate, activation: activation)
    }

    /// The same with the weight in fp32 or bf16. With bf16, `x` is rounded to bf16 for the GEMM
    /// (PyTorch's autocast does the same) except in the batch-1 kernel, which widens the weights and
    /// keeps `x` in fp32; the bias, the accumulation and the output stay fp32.
    public static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: WeightMatrix,
        bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int,
        accumulate: Bool = false, activation: GELUForm? = nil
    ) {
        if rows == 0 { return }
        if SkinnyGEMM.applies(m: rows, k: inFeatures) {
            // Batch-1 inference: the bias rides along in the kernel's store and the GELU runs on each
            // chunk while it is in cache, on the worker that computed it: no pass of their own.
            SkinnyGEMM.multiply(
                m: rows, n: outFeatures, k: inFeatures, x: x, ldx: inFeatures, w: weight, ldw: inFeatures, bias: bias,
                accumulate: accumulate, activation: activation, c: out, ldc: outFeatures)
            return
        }
        defer {
            if let activation { GELU.forward(activation, out: out, x: out, count: rows * outFeatures) }
        }
        let weight32: UnsafePointer<Float>
        switch weight {
        case .bf16(let weight):
            // oneDNN adds the bias in the GEMM itself.
            BF16GEMM.multiply(
                m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, .transpose, b: weight, ldb: inFeatures,
                bias: bias, accumulate: accumulate, c: out, ldc: outFeatures)
            return
        case .fp32(let weight):
            weight32 = weight
        }
        var beta: Float = accumulate ? 1 : 0
        if let bias {
            // Bias folded into the GEMM: prefill (or add) the rows, then accumulate with beta = 1.
            Threading.parallelRanges(rows, minChunk: max(1, 16384 / max(outFeatures, 1))) { range in
                for r in range {
                    let o = out + r * outFeatures
                    if accumulate {
                        mapVectors(outFeatures) { i, lanes in
                            storePartial(o, i, lanes, loadPartial(o, i, lanes) + loadPartial(bias, i, lanes))
                        }
                    } else {
                        o.update(from: bias, count: outFeatures)
                    }
                }
            }
            beta = 1
        }
        GEMM.multiply(
            .none, .transpose, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
            b: weight32, ldb: inFeatures, beta: beta, c: out, ldc: outFeatures)
    }

    /// Whether `forward(out:xBF16:…)` can stand for `forward` with bf16 weights: where `forward` rounds `x`
    /// to bf16 for oneDNN (not in the batch-1 kernel, which keeps `x` in fp32).
    public static func takesBF16Input(rows: Int, inFeatures: Int) -> Bool {
        !SkinnyGEMM.applies(m: rows, k: inFeatures)
    }

    /// `forward` with bf16 weights and `x` already rounded to bf16 (`[rows, inFeatures]`): the same result as
    /// `forward` on the fp32 `x` where `takesBF16Input`, without an fp32 `x` ever written (the FFN's GELU
    /// output in bf16 runs: its only reader is this GEMM).
    public static func forward(
        out: UnsafeMutablePointer<Float>, xBF16: UnsafePointer<UInt16>, weight: UnsafePointer<UInt16>,
        bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false
    ) {
        BF16GEMM.multiply(
            .none, .transpose, m: rows, n: outFeatures, k: inFeatures, a: xBF16, lda: inFeatures, b: weight,
            ldb: inFeatures, bias: bias, accumulate: accumulate, c: out, ldc: outFeatures)
    }

    /// Backward: `dx (+)= dy·W` (when `dx` is given), `dW += dyᵀ·x` and `db += Σ_rows dy` (when
    /// given: frozen weights pass nil and cost no GEMM).
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
        dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
        accumulateInput: Bool = false
    ) {
        backward(
            dx: dx, dweight: dweight, dbias: dbias, dout: dout, x: x, weight: .fp32(weight), rows: rows,
            inFeatures: inFeatures, outFeatures: outFeatures, accumulateInput: accumulateInput)
    }

    /// The same with the weight in fp32 or bf16. With bf16 both GEMMs take bf16 operands (`dy`, `W`
    /// and `x` rounded, as autocast's backward does) and accumulate into the fp32 `dx` and `dW`.
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
        dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        weight: WeightMatrix, rows: Int, inFeatures: Int, outFeatures: Int,
        accumulateInput: Bool = false
    ) {
        if case .bf16(let weight) = weight {
            if let dx {
                BF16GEMM.multiply(
                    m: rows, n: inFeatures, k: outFeatures, a: dout, lda: outFeatures, .none, b: weight, ldb: inFeatures,
                    accumulate: accumulateInput, c: dx, ldc: inFeatures)
            }
            if rows > 0, let dweight {
                // dW = dyᵀ·x sums over the rows, so both operands are rounded whole (full fine-tuning only).
                BF16ScratchPool.shared.withBuffer(count: rows * outFeatures) { dyh in
                    BF16.convert(dout, to: dyh, count: rows * outFeatures)
                    BF16ScratchPool.shared.withBuffer(count: rows * inFeatures) { xh in
                        BF16.convert(x, to: xh, count: rows * inFeatures)
                        BF16GEMM.multiply(
                            .transpose, .none, m: outFeatures, n: inFeatures, k: rows, a: dyh, lda: outFeatures,
                            b: xh, ldb: inFeatures, accumulate: true, c: dweight, ldc: inFeatures)
                    }
                }
            }
            if let dbias { columnSum(into: dbias, dout, rows: rows, cols: outFeatures) }
            return
        }
        guard case .fp32(let weight) = weight else { return }
        if let dx {
            GEMM.multiply(
                .none, .none, m: rows, n: inFeatures, k: outFeatures, a: dout, lda: outFeatures,
                b: weight, ldb: inFeatures, beta: accumulateInput ? 1 : 0, c: dx, ldc: inFeatures)
        }
        if let dweight {
            GEMM.multiply(
                .transpose, .none, m: outFeatures, n: inFeatures, k: rows, a: dout, lda: outFeatures,
                b: x, ldb: inFeatures, beta: 1, c: dweight, ldc: inFeatures)
        }
        if let dbias {
            columnSum(into: dbias, dout, rows: rows, cols: outFeatures)
        }
    }

    /// `dst[j] += Σ_r src[r, j]`, split over column blocks so no two workers write the same entry.
    public static func columnSum(
        into dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, cols: Int
    ) {
        Threading.parallelRanges(cols, minChunk: 64) { range in
            let lo = range.lowerBound
            let width = range.count
            for r in 0..<rows {
                let row = src + r * cols + lo
                mapVectors(width) { i, lanes in
                    storePartial(dst + lo, i, lanes, loadPartial(dst + lo, i, lanes) + loadPartial(row, i, lanes))
                }
            }
        }
    }
}
