import CVectorKernels

/// LayerNorm over the last dimension: `y = (x − μ)·rstd·γ + β`, `rstd = 1/√(σ² + eps)` with the
/// biased variance, as `torch.nn.LayerNorm`. `eps` comes from the model config (1e-5 RoBERTa,
/// 1e-12 BERT). Row loops are in CVectorKernels (vectorised, fixed-order reductions).
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
            let lo = range.lowerBound
            sa_layernorm_forward(
                out + lo * c, x + lo * c, residual.map { $0 + lo * c }, sum.map { $0 + lo * c }, gamma, beta,
                mean.map { $0 + lo }, rstd.map { $0 + lo }, range.count, c, eps)
        }
    }

    /// Backward of `forward`. `x` is the normalised input (the `sum` of a fused forward).
    /// `dx` is overwritten, or accumulated into when `accumulate`; `dgamma`/`dbeta` (optional, for
    /// trainable LayerNorms) are accumulated. `dx` may equal `dout` unless `accumulate`.
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
        // Per-worker partial sums for γ and β, added in worker order: no write races, fixed order.
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: wantParams ? 2 * c * workers : 1)
        defer { partial.deallocate() }
        if wantParams { partial.initialize(repeating: 0, count: 2 * c * workers) }
        let step = (rows + workers - 1) / max(workers, 1)
        Threading.parallelFor(workers) { w in
            let lo = w * step
            let hi = min(rows, lo + step)
            if lo >= hi { return }
            let pg: UnsafeMutablePointer<Float>? = wantParams ? partial + 2 * c * w : nil
            sa_layernorm_backward(
                dx + lo * c, pg, pg.map { $0 + c }, dout + lo * c, x + lo * c, gamma, mean + lo, rstd + lo, hi - lo, c,
                accumulate ? 1 : 0)
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
