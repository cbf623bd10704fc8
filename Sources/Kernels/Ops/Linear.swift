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
            b: weight, ldb: inFeatures, beta: beta, c: out, ldc: outFeatures)
    }

    /// Backward: `dx (+)= dy·W` (when `dx` is given), `dW += dyᵀ·x` and `db += Σ_rows dy` (when
    /// given: frozen weights pass nil and cost no GEMM).
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
        dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
        accumulateInput: Bool = false
    ) {
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
