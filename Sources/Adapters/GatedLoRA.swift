import Kernels

/// LoRA with AdapterHub's `use_gating` (UniPELT): the update of each row is multiplied by its sequence's gate
/// (`Gate`) instead of `alpha / r`, `y += f_row · B·A·x`.
extension LoRAKernel {
    /// - Parameters: h `[M, r]` receives x·Aᵀ (kept for the backward pass); `scaled` `[M, r]` is scratch;
    ///   `rowFactors` `[M]`.
    public static func forwardGated(
        y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        h: UnsafeMutablePointer<Float>, scaled: UnsafeMutablePointer<Float>, rowFactors: UnsafePointer<Float>, rows: Int,
        inFeatures: Int, outFeatures: Int, rank: Int
    ) {
        GEMM.multiply(.none, .transpose, m: rows, n: rank, k: inFeatures, a: x, lda: inFeatures, b: a, ldb: inFeatures, c: h, ldc: rank)
        for r in 0..<rows {
            for j in 0..<rank { scaled[r * rank + j] = rowFactors[r] * h[r * rank + j] }
        }
        GEMM.multiply(
            .none, .transpose, m: rows, n: outFeatures, k: rank, a: scaled, lda: rank, b: b, ldb: rank, beta: 1, c: y, ldc: ldy)
    }

    /// Backward of `forwardGated`: `dB += dyᵀ·(f·h)`, `dA += (f·dy·B)ᵀ·x`, `dx += (f·dy·B)·A` when given, and
    /// `dfactors[row] = Σ_j (dy·B)[row, j]·h[row, j]` (overwritten). `scratch` needs `2·M·r` floats.
    public static func backwardGated(
        dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, ldy: Int, x: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, h: UnsafePointer<Float>, rowFactors: UnsafePointer<Float>,
        da: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?, dfactors: UnsafeMutablePointer<Float>,
        rows: Int, inFeatures: Int, outFeatures: Int, rank: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        let scaled = scratch
        let dh = scratch + rows * rank
        for r in 0..<rows {
            for j in 0..<rank { scaled[r * rank + j] = rowFactors[r] * h[r * rank + j] }
        }
        if let db {
            GEMM.multiply(
                .transpose, .none, m: outFeatures, n: rank, k: rows, a: dy, lda: ldy, b: scaled, ldb: rank, beta: 1, c: db,
                ldc: rank)
        }
        GEMM.multiply(.none, .none, m: rows, n: rank, k: outFeatures, a: dy, lda: ldy, b: b, ldb: rank, c: dh, ldc: rank)
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<rank {
                sum += dh[r * rank + j] * h[r * rank + j]
                dh[r * rank + j] *= rowFactors[r]
            }
            dfactors[r] = sum
        }
        if let da {
            GEMM.multiply(
                .transpose, .none, m: rank, n: inFeatures, k: rows, a: dh, lda: rank, b: x, ldb: inFeatures, beta: 1, c: da,
                ldc: inFeatures)
        }
        if let dx {
            GEMM.multiply(
                .none, .none, m: rows, n: inFeatures, k: rank, a: dh, lda: rank, b: a, ldb: inFeatures, beta: 1, c: dx,
                ldc: inFeatures)
        }
    }
}
