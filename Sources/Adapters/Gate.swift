import Foundation
import Kernels

/// AdapterHub's `use_gating` gate (UniPELT): `k` values per sequence, `g_b = mean over sequence b's rows of
/// σ(x_r · Wᵀ + bias)` `[B, k]`, which scale what the adapter adds for that sequence (a bottleneck's output, a
/// LoRA update, a prefix's keys and values).
///
/// AdapterHub takes the mean over every position of a padded batch, padding included, so its gates (and
/// logits) depend on how a batch is padded; here the mean runs over each sequence's own rows, which equals
/// AdapterHub's for unpadded batches and batch size 1.
public enum Gate {
    /// - Parameters:
    ///   - sigma: `[M, k]` receives σ(x·Wᵀ + bias), kept for the backward pass.
    ///   - means: `[B, k]` receives each sequence's gate.
    ///   - x: `[M, C]` rows, leading dimension `ldx`; sequence b owns rows `rowOffsets[b] ..< rowOffsets[b+1]`.
    ///   - weight: `[k, C]`; bias `[k]`.
    public static func forward(
        sigma: UnsafeMutablePointer<Float>, means: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, ldx: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rowOffsets: [Int], outputs k: Int, channels c: Int
    ) {
        let m = rowOffsets.last ?? 0
        for r in 0..<m { (sigma + r * k).update(from: bias, count: k) }
        GEMM.multiply(.none, .transpose, m: m, n: k, k: c, a: x, lda: ldx, b: weight, ldb: c, beta: 1, c: sigma, ldc: k)
        for i in 0..<(m * k) { sigma[i] = 1 / (1 + Foundation.exp(-sigma[i])) }
        for b in 0..<(rowOffsets.count - 1) {
            let rows = rowOffsets[b]..<rowOffsets[b + 1]
            for j in 0..<k {
                var sum: Float = 0
                for r in rows { sum += sigma[r * k + j] }
                means[b * k + j] = rows.isEmpty ? 0 : sum / Float(rows.count)
            }
        }
    }

    /// Backward from `dmeans` `[B, k]`: accumulates into `dweight` `[k, C]`, `dbias` `[k]` and, when given, `dx`
    /// (`[M, C]`, leading dimension `ldx`). `scratch` holds `M·k` floats.
    public static func backward(
        dmeans: UnsafePointer<Float>, sigma: UnsafePointer<Float>, x: UnsafePointer<Float>, ldx: Int,
        weight: UnsafePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dx: UnsafeMutablePointer<Float>?, rowOffsets: [Int], outputs k: Int, channels c: Int,
        scratch dz: UnsafeMutablePointer<Float>
    ) {
        let m = rowOffsets.last ?? 0
        for b in 0..<(rowOffsets.count - 1) {
            let rows = rowOffsets[b]..<rowOffsets[b + 1]
            for r in rows {
                for j in 0..<k {
                    let s = sigma[r * k + j]
                    dz[r * k + j] = dmeans[b * k + j] / Float(rows.count) * s * (1 - s)
                }
            }
        }
        if let dweight {
            GEMM.multiply(.transpose, .none, m: k, n: c, k: m, a: dz, lda: k, b: x, ldb: ldx, beta: 1, c: dweight, ldc: c)
        }
        if let dbias {
            for r in 0..<m { for j in 0..<k { dbias[j] += dz[r * k + j] } }
        }
        if let dx {
            GEMM.multiply(.none, .none, m: m, n: c, k: k, a: dz, lda: k, b: weight, ldb: c, beta: 1, c: dx, ldc: ldx)
        }
    }

    /// Each row's factor: column `j` of its sequence's gate, `[M]`.
    public static func rowFactors(_ means: UnsafePointer<Float>, rowOffsets: [Int], outputs k: Int, column j: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rowOffsets.last ?? 0)
        for b in 0..<(rowOffsets.count - 1) {
            for r in rowOffsets[b]..<rowOffsets[b + 1] { out[r] = means[b * k + j] }
        }
        return out
    }
}
