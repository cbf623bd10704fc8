import Kernels

/// (IA)³ on a frozen linear layer, AdapterHub's `IA3` (`composition_mode="scale"`): the layer's output,
/// bias included, is multiplied per output feature by `s·l`, `l` `[out, 1]` (`lora_B`), `s = alpha`.
///
/// `y` may be a column block of a wider buffer (the key or value third of the fused QKV projection),
/// hence the leading dimension.
public enum IA3Kernel {
    /// `y[:, :out] *= s·l`; `kept` `[M, out]` receives `y` before scaling for the backward pass.
    public static func forward(
        y: UnsafeMutablePointer<Float>, ldy: Int, l: UnsafePointer<Float>, kept: UnsafeMutablePointer<Float>?, rows: Int,
        outFeatures n: Int, scaling: Float
    ) {
        for r in 0..<rows {
            let row = y + r * ldy
            if let kept { (kept + r * n).update(from: row, count: n) }
            for j in 0..<n { row[j] *= scaling * l[j] }
        }
    }

    /// Backward: `dl += s·Σ_rows dy ⊙ y_before`, then `dy *= s·l` in place (the gradient of the layer's
    /// own output, which the frozen layer's backward continues from). With `dl` nil only the latter.
    public static func backward(
        dy: UnsafeMutablePointer<Float>, ldy: Int, kept: UnsafePointer<Float>, l: UnsafePointer<Float>,
        dl: UnsafeMutablePointer<Float>?, rows: Int, outFeatures n: Int, scaling: Float
    ) {
        for r in 0..<rows {
            let g = dy + r * ldy
            if let dl {
                let y = kept + r * n
                for j in 0..<n { dl[j] += scaling * g[j] * y[j] }
            }
            for j in 0..<n { g[j] *= scaling * l[j] }
        }
    }

    /// Folds the scale into the frozen layer (`W[j, :] *= s·l_j`, `b_j *= s·l_j`) or, with `inverse`,
    /// divides it out. The bias is scaled too so that a merged model gives the unmerged outputs exactly
    /// (AdapterHub's `merge_adapter` scales the weight only).
    public static func merge(
        weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?, l: UnsafePointer<Float>, inFeatures: Int,
        outFeatures n: Int, scaling: Float
    ) {
        for j in 0..<n {
            let f = scaling * l[j]
            let row = weight + j * inFeatures
            for k in 0..<inFeatures { row[k] *= f }
            bias?[j] *= f
        }
    }
}
