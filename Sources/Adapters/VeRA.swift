import Kernels

/// VeRA on one frozen linear layer: `y += s · x·(V_B·B·V_D·A)ᵀ`, with `A` `[r, in]` and `B` `[out, r]` frozen,
/// random and shared by every layer, and the trained `V_D` `[r, r]` and `V_B` `[out, out]` (AdapterHub's full
/// matrices, started as diagonals).
public enum VeRAKernel {
    /// - Parameters: h `[M, r]` receives x·Aᵀ (kept for the backward pass); `scratch` holds `M·r + M·out` floats.
    public static func forward(
        y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        d: UnsafePointer<Float>, vb: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>, rows m: Int, inFeatures: Int,
        outFeatures: Int, rank r: Int, scaling: Float, scratch: UnsafeMutablePointer<Float>
    ) {
        let h2 = scratch
        let h3 = scratch + m * r
        GEMM.multiply(.none, .transpose, m: m, n: r, k: inFeatures, a: x, lda: inFeatures, b: a, ldb: inFeatures, c: h, ldc: r)
        GEMM.multiply(.none, .transpose, m: m, n: r, k: r, a: h, lda: r, b: d, ldb: r, c: h2, ldc: r)
        GEMM.multiply(.none, .transpose, m: m, n: outFeatures, k: r, a: h2, lda: r, b: b, ldb: r, c: h3, ldc: outFeatures)
        GEMM.multiply(
            .none, .transpose, m: m, n: outFeatures, k: outFeatures, alpha: scaling, a: h3, lda: outFeatures, b: vb,
            ldb: outFeatures, beta: 1, c: y, ldc: ldy)
    }

    /// Backward: `dV_B += s·dyᵀ·h₃`, `dV_D += (s·dy·V_B·B)ᵀ·h`, and `dx += …·A` when given (h₃ = h·V_Dᵀ·Bᵀ is
    /// recomputed from the kept h). `scratch` holds `2·M·r + 2·M·out` floats.
    public static func backward(
        dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, ldy: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        d: UnsafePointer<Float>, vb: UnsafePointer<Float>, h: UnsafePointer<Float>, dd: UnsafeMutablePointer<Float>?,
        dvb: UnsafeMutablePointer<Float>?, rows m: Int, inFeatures: Int, outFeatures: Int, rank r: Int, scaling: Float,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let h2 = scratch
        let h3 = scratch + m * r
        let dh3 = h3 + m * outFeatures
        let dh2 = dh3 + m * outFeatures
        GEMM.multiply(.none, .transpose, m: m, n: r, k: r, a: h, lda: r, b: d, ldb: r, c: h2, ldc: r)
        if let dvb {
            GEMM.multiply(.none, .transpose, m: m, n: outFeatures, k: r, a: h2, lda: r, b: b, ldb: r, c: h3, ldc: outFeatures)
            GEMM.multiply(
                .transpose, .none, m: outFeatures, n: outFeatures, k: m, alpha: scaling, a: dy, lda: ldy, b: h3,
                ldb: outFeatures, beta: 1, c: dvb, ldc: outFeatures)
        }
        GEMM.multiply(
            .none, .none, m: m, n: outFeatures, k: outFeatures, alpha: scaling, a: dy, lda: ldy, b: vb, ldb: outFeatures,
            c: dh3, ldc: outFeatures)
        GEMM.multiply(.none, .none, m: m, n: r, k: outFeatures, a: dh3, lda: outFeatures, b: b, ldb: r, c: dh2, ldc: r)
        if let dd {
            GEMM.multiply(.transpose, .none, m: r, n: r, k: m, a: dh2, lda: r, b: h, ldb: r, beta: 1, c: dd, ldc: r)
        }
        if let dx {
            // dh = dh₂·V_D, then dx += dh·A (h2 is free again).
            GEMM.multiply(.none, .none, m: m, n: r, k: r, a: dh2, lda: r, b: d, ldb: r, c: h2, ldc: r)
            GEMM.multiply(
                .none, .none, m: m, n: inFeatures, k: r, a: h2, lda: r, b: a, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
        }
    }

    /// `W ± s·(V_B·B)·(V_D·A)` in place (merge / unmerge); `scratch` holds `out·r + r·in` floats.
    public static func merge(
        weight: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, d: UnsafePointer<Float>,
        vb: UnsafePointer<Float>, inFeatures: Int, outFeatures: Int, rank r: Int, scaling: Float, sign: Float,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let left = scratch  // V_B·B [out, r]
        let right = scratch + outFeatures * r  // V_D·A [r, in]
        GEMM.multiply(.none, .none, m: outFeatures, n: r, k: outFeatures, a: vb, lda: outFeatures, b: b, ldb: r, c: left, ldc: r)
        GEMM.multiply(.none, .none, m: r, n: inFeatures, k: r, a: d, lda: r, b: a, ldb: inFeatures, c: right, ldc: inFeatures)
        GEMM.multiply(
            .none, .none, m: outFeatures, n: inFeatures, k: r, alpha: sign * scaling, a: left, lda: r, b: right, ldb: inFeatures,
            beta: 1, c: weight, ldc: inFeatures)
    }
}
