import Kernels

/// DoRA (Liu et al. 2024) on a frozen linear layer, as AdapterHub's LoRA with `use_dora=True` computes it:
///
///     y_j = m_j / n_j · (W_j·x + b_j + s·(B·A·x)_j),   n_j = ‖W_j + (B·A)_j‖,
///
/// the LoRA output (`LoRAKernel`) rescaled per output feature by a learned magnitude `m` (`….m.weight`
/// `[out, 1]`, starting at ‖W_j‖) over the norm of the adapted weight's row. As in AdapterHub the norm
/// uses B·A without the LoRA scaling s.
public enum DoRAKernel {
    /// `v = W + B·A` `[out, in]` and its row norms `norms` `[out]`.
    public static func directions(
        v: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int, rank: Int
    ) {
        v.update(from: weight, count: inFeatures * outFeatures)
        GEMM.multiply(
            .none, .none, m: outFeatures, n: inFeatures, k: rank, a: b, lda: rank, b: a, ldb: inFeatures, beta: 1, c: v,
            ldc: inFeatures)
        for j in 0..<outFeatures {
            let row = v + j * inFeatures
            var sum: Float = 0
            for k in 0..<inFeatures { sum += row[k] * row[k] }
            norms[j] = sum.squareRoot()
        }
    }

    /// `y[:, :out] *= m / n`; `kept` `[M, out]` receives `y` before (the LoRA layer's output u).
    public static func forward(
        y: UnsafeMutablePointer<Float>, ldy: Int, magnitude: UnsafePointer<Float>, norms: UnsafePointer<Float>,
        kept: UnsafeMutablePointer<Float>?, rows: Int, outFeatures n: Int
    ) {
        for r in 0..<rows {
            let row = y + r * ldy
            if let kept { (kept + r * n).update(from: row, count: n) }
            for j in 0..<n { row[j] *= magnitude[j] / norms[j] }
        }
    }

    /// Backward of `forward`: `dm += Σ_rows dy ⊙ u / n`, `dnorms += −Σ_rows dy ⊙ u · m / n²`, then
    /// `dy *= m / n` in place (∂L/∂u, which the LoRA layer's backward continues from).
    public static func backward(
        dy: UnsafeMutablePointer<Float>, ldy: Int, kept: UnsafePointer<Float>, magnitude: UnsafePointer<Float>,
        norms: UnsafePointer<Float>, dm: UnsafeMutablePointer<Float>?, dnorms: UnsafeMutablePointer<Float>, rows: Int,
        outFeatures n: Int
    ) {
        for r in 0..<rows {
            let g = dy + r * ldy
            let u = kept + r * n
            for j in 0..<n {
                let gu = g[j] * u[j] / norms[j]
                dm?[j] += gu
                dnorms[j] -= gu * magnitude[j] / norms[j]
                g[j] *= magnitude[j] / norms[j]
            }
        }
    }

    /// The norms' share of A's and B's gradients: with `dV = diag(dn / n)·V`, `dB += dV·Aᵀ` and
    /// `dA += Bᵀ·dV`. `scratch` needs `out·max(in, rank)` floats.
    public static func normBackward(
        dnorms: UnsafePointer<Float>, norms: UnsafePointer<Float>, v: UnsafePointer<Float>, a: UnsafePointer<Float>,
        b: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>, inFeatures: Int,
        outFeatures: Int, rank: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let dv = scratch
        for j in 0..<outFeatures {
            let f = dnorms[j] / norms[j]
            let src = v + j * inFeatures
            let dst = dv + j * inFeatures
            for k in 0..<inFeatures { dst[k] = f * src[k] }
        }
        GEMM.multiply(
            .none, .transpose, m: outFeatures, n: rank, k: inFeatures, a: dv, lda: inFeatures, b: a, ldb: inFeatures,
            beta: 1, c: db, ldc: rank)
        GEMM.multiply(
            .transpose, .none, m: rank, n: inFeatures, k: outFeatures, a: b, lda: rank, b: dv, ldb: inFeatures, beta: 1,
            c: da, ldc: inFeatures)
    }
}
