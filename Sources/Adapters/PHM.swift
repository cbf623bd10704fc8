/// Parameterised hypercomplex multiplication (PHM) layers, the projections of Compacter (Mahabadi et al.
/// 2021) as AdapterHub's `PHMLayer` computes them: the `[in, out]` matrix
///
///     H = Σ_i P_i ⊗ W_i,   P `[n, n, n]` (`phm_rule`), W `[n, in/n, out/n]`, W_i = L_i·R_i when factorised
///
/// (`W_left` `[n, in/n, rank]`, `W_right` `[n, rank, out/n]`), and `y = x·H + b`. `P_i ⊗ W_i` places
/// `P_i[r, c]·W_i` in block (r, c): `H[r·in/n + s, c·out/n + t] = Σ_i P_i[r, c]·W_i[s, t]`.
///
/// The layer is small (H is at most hidden × bottleneck), so it is materialised once per forward pass as a
/// linear layer's weight `[out, in]` (= Hᵀ) and run by the bottleneck's GEMMs; the backward pass maps that
/// weight's gradient back onto P and W (and W's factors).
public enum PHMKernel {
    /// `w[i] = left[i]·right[i]`: `[n, a, rank]·[n, rank, b]` → `[n, a, b]`.
    public static func factorProduct(
        w: UnsafeMutablePointer<Float>, left: UnsafePointer<Float>, right: UnsafePointer<Float>, n: Int, a: Int,
        rank: Int, b: Int
    ) {
        for i in 0..<n {
            let l = left + i * a * rank
            let r = right + i * rank * b
            let out = w + i * a * b
            for s in 0..<a {
                for t in 0..<b {
                    var sum: Float = 0
                    for k in 0..<rank { sum += l[s * rank + k] * r[k * b + t] }
                    out[s * b + t] = sum
                }
            }
        }
    }

    /// Backward of `factorProduct`: `dleft[i] += dw[i]·right[i]ᵀ`, `dright[i] += left[i]ᵀ·dw[i]`.
    public static func factorBackward(
        dw: UnsafePointer<Float>, left: UnsafePointer<Float>, right: UnsafePointer<Float>,
        dleft: UnsafeMutablePointer<Float>, dright: UnsafeMutablePointer<Float>, n: Int, a: Int, rank: Int, b: Int
    ) {
        for i in 0..<n {
            let l = left + i * a * rank
            let r = right + i * rank * b
            let g = dw + i * a * b
            let dl = dleft + i * a * rank
            let dr = dright + i * rank * b
            for s in 0..<a {
                for t in 0..<b {
                    let gst = g[s * b + t]
                    for k in 0..<rank {
                        dl[s * rank + k] += gst * r[k * b + t]
                        dr[k * b + t] += l[s * rank + k] * gst
                    }
                }
            }
        }
    }

    /// The linear layer's weight `[out, in]` = Hᵀ from `rule` `[n, n, n]` and `w` `[n, in/n, out/n]`.
    public static func materialize(
        weight: UnsafeMutablePointer<Float>, rule: UnsafePointer<Float>, w: UnsafePointer<Float>, n: Int,
        inFeatures: Int, outFeatures: Int
    ) {
        let a = inFeatures / n
        let b = outFeatures / n
        weight.update(repeating: 0, count: inFeatures * outFeatures)
        for i in 0..<n {
            let wi = w + i * a * b
            for r in 0..<n {
                for c in 0..<n {
                    let p = rule[(i * n + r) * n + c]
                    if p == 0 { continue }
                    for s in 0..<a {
                        let row = r * a + s  // input feature
                        for t in 0..<b {
                            weight[(c * b + t) * inFeatures + row] += p * wi[s * b + t]
                        }
                    }
                }
            }
        }
    }

    /// Backward of `materialize` from the weight's gradient `dweight` `[out, in]`: `drule[i, r, c] +=
    /// Σ_{s,t} dH[r·a + s, c·b + t]·W_i[s, t]` (when `drule` is given) and `dw[i, s, t] += Σ_{r,c}
    /// dH[r·a + s, c·b + t]·P_i[r, c]`.
    public static func backward(
        dweight: UnsafePointer<Float>, rule: UnsafePointer<Float>, w: UnsafePointer<Float>,
        drule: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>, n: Int, inFeatures: Int, outFeatures: Int
    ) {
        let a = inFeatures / n
        let b = outFeatures / n
        for i in 0..<n {
            let wi = w + i * a * b
            let dwi = dw + i * a * b
            for r in 0..<n {
                for c in 0..<n {
                    let p = rule[(i * n + r) * n + c]
                    var dp: Float = 0
                    for s in 0..<a {
                        let row = r * a + s
                        for t in 0..<b {
                            let g = dweight[(c * b + t) * inFeatures + row]
                            dp += g * wi[s * b + t]
                            dwi[s * b + t] += g * p
                        }
                    }
                    drule?[(i * n + r) * n + c] += dp
                }
            }
        }
    }
}
