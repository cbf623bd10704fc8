/// LayerNorm over the last dimension: `y = (x − μ)·rstd·γ + β`, `rstd = 1/√(σ² + eps)` with the
/// biased variance, as `torch.nn.LayerNorm`. `eps` comes from the model config (1e-5 RoBERTa,
/// 1e-12 BERT).
public enum LayerNorm {
    /// - Parameters:
    ///   - out: `[rows, C]`; may equal `x`.
    ///   - x: `[rows, C]`.
    ///   - residual: optional `[rows, C]` added to `x` first (the fused `LN(x + residual)` of every
    ///     BERT sub-layer); when `sum` is given, `x + residual` is also written there (backward needs it).
    ///   - mean, rstd: optional `[rows]` outputs saved for the backward pass.
    public static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
        residual: UnsafePointer<Float>? = nil, sum: UnsafeMutablePointer<Float>? = nil,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil,
        rows: Int, channels c: Int, eps: Float
    ) {
        Threading.parallelRanges(rows, minChunk: max(1, 8192 / max(c, 1))) { range in
            // Row buffer for x + residual when it is not kept.
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: c)
            defer { tmp.deallocate() }
            for r in range {
                let xr = x + r * c
                let or = out + r * c
                let src: UnsafeMutablePointer<Float>
                if let residual {
                    src = sum.map { $0 + r * c } ?? tmp
                    let rr = residual + r * c
                    mapVectors(c) { i, lanes in
                        storePartial(
                            src, i, lanes, loadPartial(xr, i, lanes) + loadPartial(rr, i, lanes))
                    }
                } else {
                    src = UnsafeMutablePointer(mutating: xr)
                }
                let mu = vectorSum(src, c) / Float(c)
                var acc = FloatVector(repeating: 0)
                mapVectors(c) { i, lanes in
                    // Padding lanes hold μ so they contribute 0.
                    let d = loadPartial(src, i, lanes, pad: mu) - mu
                    acc += d * d
                }
                let variance = acc.sum() / Float(c)
                let rs = 1 / (variance + eps).squareRoot()
                mean?[r] = mu
                rstd?[r] = rs
                mapVectors(c) { i, lanes in
                    let n = (loadPartial(src, i, lanes) - mu) * rs
                    storePartial(or, i, lanes, n * loadPartial(gamma, i, lanes) + loadPartial(beta, i, lanes))
                }
            }
        }
    }

    /// Backward of `forward`. `x` is the normalised input (the `sum` of a fused forward).
    /// `dx` is overwritten, or accumulated into when `accumulate`; `dgamma`/`dbeta` (optional, for
    /// trainable LayerNorms) are accumulated.
    ///
    /// `dx = rstd·(ĝ − mean(ĝ) − n̂·mean(ĝ·n̂))` with `ĝ = dout·γ`, `n̂ = (x − μ)·rstd`.
    public static func backward(
        dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>?,
        dbeta: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        rows: Int, channels c: Int, accumulate: Bool = false
    ) {
        let wantParams = dgamma != nil || dbeta != nil
        let workers = Threading.workerCount
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: wantParams ? 2 * c * workers : 1)
        defer { partial.deallocate() }
        if wantParams { partial.initialize(repeating: 0, count: 2 * c * workers) }
        let step = (rows + workers - 1) / max(workers, 1)
        Threading.parallelFor(workers) { w in
            let lo = w * step
            let hi = min(rows, lo + step)
            if lo >= hi { return }
            let pg = partial + (wantParams ? 2 * c * w : 0)
            let pb = pg + c
            for r in lo..<hi {
                let xr = x + r * c
                let dr = dout + r * c
                let dxr = dx + r * c
                let mu = FloatVector(repeating: mean[r])
                let rs = rstd[r]
                var s1 = FloatVector(repeating: 0)
                var s2 = FloatVector(repeating: 0)
                mapVectors(c) { i, lanes in
                    let n = (loadPartial(xr, i, lanes) - mu) * rs
                    let g = loadPartial(dr, i, lanes) * loadPartial(gamma, i, lanes)
                    s1 += g
                    s2 += g * n
                    if wantParams {
                        storePartial(pg, i, lanes, loadPartial(pg, i, lanes) + loadPartial(dr, i, lanes) * n)
                        storePartial(pb, i, lanes, loadPartial(pb, i, lanes) + loadPartial(dr, i, lanes))
                    }
                }
                let m1 = s1.sum() / Float(c)
                let m2 = s2.sum() / Float(c)
                mapVectors(c) { i, lanes in
                    let n = (loadPartial(xr, i, lanes) - mu) * rs
                    let g = loadPartial(dr, i, lanes) * loadPartial(gamma, i, lanes)
                    var v = (g - m1 - n * m2) * rs
                    if accumulate { v += loadPartial(dxr, i, lanes) }
                    storePartial(dxr, i, lanes, v)
                }
            }
        }
        if wantParams {
            for w in 0..<workers {
                let pg = partial + 2 * c * w
                for i in 0..<c {
                    dgamma?[i] += pg[i]
                    dbeta?[i] += pg[c + i]
                }
            }
        }
    }
}
