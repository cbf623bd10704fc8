import Kernels

/// LoRA on a frozen linear layer, as AdapterHub's `LoRA` with `composition_mode="add"`:
/// `y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ`, `A` `[r, in]`, `B` `[out, r]`, `s = alpha / r`.
///
/// `y` may be a column block of a wider buffer (the query or value third of the fused QKV
/// projection), hence the explicit leading dimensions.
public enum LoRAKernel {
    /// `y[:, :out] += s · (x·Aᵀ)·Bᵀ`; `h` `[M, r]` receives `x·Aᵀ` for the backward pass.
    public static func forward(
        y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        h: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int, rank: Int, scaling: Float
    ) {
        GEMM.multiply(.none, .transpose, m: rows, n: rank, k: inFeatures, a: x, lda: inFeatures, b: a, ldb: inFeatures, c: h, ldc: rank)
        GEMM.multiply(
            .none, .transpose, m: rows, n: outFeatures, k: rank, alpha: scaling, a: h, lda: rank, b: b, ldb: rank,
            beta: 1, c: y, ldc: ldy)
    }

    /// Backward: `dB += s·dyᵀ·h`, `dA += (s·dy·B)ᵀ·x`, and `dx += (s·dy·B)·A` when `dx` is given.
    /// `scratch` needs `M·r` floats.
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, ldy: Int, x: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, h: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>,
        db: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int, rank: Int, scaling: Float,
        scratch dh: UnsafeMutablePointer<Float>
    ) {
        GEMM.multiply(
            .transpose, .none, m: outFeatures, n: rank, k: rows, alpha: scaling, a: dy, lda: ldy, b: h, ldb: rank,
            beta: 1, c: db, ldc: rank)
        GEMM.multiply(
            .none, .none, m: rows, n: rank, k: outFeatures, alpha: scaling, a: dy, lda: ldy, b: b, ldb: rank, c: dh, ldc: rank)
        GEMM.multiply(
            .transpose, .none, m: rank, n: inFeatures, k: rows, a: dh, lda: rank, b: x, ldb: inFeatures, beta: 1, c: da,
            ldc: inFeatures)
        if let dx {
            GEMM.multiply(
                .none, .none, m: rows, n: inFeatures, k: rank, a: dh, lda: rank, b: a, ldb: inFeatures, beta: 1, c: dx,
                ldc: inFeatures)
        }
    }

    /// `W ± s·B·A` in place: merges (sign +1) or unmerges (sign −1) the update into the frozen weight.
    public static func merge(
        weight: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, inFeatures: Int,
        outFeatures: Int, rank: Int, scaling: Float, sign: Float
    ) {
        GEMM.multiply(
            .none, .none, m: outFeatures, n: inFeatures, k: rank, alpha: sign * scaling, a: b, lda: rank, b: a,
            ldb: inFeatures, beta: 1, c: weight, ldc: inFeatures)
    }
}
