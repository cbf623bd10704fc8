import Foundation
import Kernels

/// One ReFT intervention unit on gathered rows `x` `[n, C]`: `y = x + (act(x·Wᵀ + b) − [x·Rᵀ])·R`, with
/// `W`, `R` `[r, C]` (`learned_source`, `projection`), the bracket dropped without `subtract_projection`.
public enum ReftKernel {
    /// - Parameters: y `[n, C]` (may not alias x); z `[n, r]` receives `x·Wᵀ + b` and d `[n, r]` the coefficients
    ///   `act(z) − x·Rᵀ`, both kept for the backward pass.
    public static func forward(
        y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, sourceWeight: UnsafePointer<Float>,
        sourceBias: UnsafePointer<Float>, projection: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
        d: UnsafeMutablePointer<Float>, rows n: Int, channels c: Int, rank r: Int, activation: AdapterActivation?,
        subtractProjection: Bool
    ) {
        if n == 0 { return }
        Linear.forward(out: z, x: x, weight: sourceWeight, bias: sourceBias, rows: n, inFeatures: c, outFeatures: r)
        if let activation {
            ActivationKernel.forward(activation, out: d, x: z, count: n * r)
        } else {
            d.update(from: z, count: n * r)
        }
        if subtractProjection {
            GEMM.multiply(.none, .transpose, m: n, n: r, k: c, alpha: -1, a: x, lda: c, b: projection, ldb: c, beta: 1, c: d, ldc: r)
        }
        y.update(from: x, count: n * c)
        GEMM.multiply(.none, .none, m: n, n: c, k: r, a: d, lda: r, b: projection, ldb: c, beta: 1, c: y, ldc: c)
    }

    /// Backward from `dy` `[n, C]`: writes `dx` `[n, C]` and accumulates into `dW`, `db`, `dR` (nil: not wanted).
    /// `scratch` holds `2·n·r` floats.
    public static func backward(
        dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, z: UnsafePointer<Float>,
        d: UnsafePointer<Float>, sourceWeight: UnsafePointer<Float>, projection: UnsafePointer<Float>,
        dSourceWeight: UnsafeMutablePointer<Float>?, dSourceBias: UnsafeMutablePointer<Float>?,
        dProjection: UnsafeMutablePointer<Float>?, rows n: Int, channels c: Int, rank r: Int, activation: AdapterActivation?,
        subtractProjection: Bool, scratch: UnsafeMutablePointer<Float>
    ) {
        if n == 0 { return }
        let dd = scratch
        let dz = scratch + n * r
        // y = x + d·R: dd = dy·Rᵀ, dR += dᵀ·dy, dx = dy.
        GEMM.multiply(.none, .transpose, m: n, n: r, k: c, a: dy, lda: c, b: projection, ldb: c, c: dd, ldc: r)
        if let dProjection {
            GEMM.multiply(.transpose, .none, m: r, n: c, k: n, a: d, lda: r, b: dy, ldb: c, beta: 1, c: dProjection, ldc: c)
        }
        dx.update(from: dy, count: n * c)
        // d = act(z) − x·Rᵀ: through the projection (dR −= ddᵀ·x, dx −= dd·R), then the activation.
        if subtractProjection {
            if let dProjection {
                GEMM.multiply(.transpose, .none, m: r, n: c, k: n, alpha: -1, a: dd, lda: r, b: x, ldb: c, beta: 1, c: dProjection, ldc: c)
            }
            GEMM.multiply(.none, .none, m: n, n: c, k: r, alpha: -1, a: dd, lda: r, b: projection, ldb: c, beta: 1, c: dx, ldc: c)
        }
        if let activation {
            ActivationKernel.backward(activation, dx: dz, dout: dd, x: z, count: n * r)
        } else {
            dz.update(from: dd, count: n * r)
        }
        Linear.backward(
            dx: dx, dweight: dSourceWeight, dbias: dSourceBias, dout: dz, x: x, weight: sourceWeight, rows: n, inFeatures: c,
            outFeatures: r, accumulateInput: true)
    }
}

/// PyTorch's orthogonal parametrization of a `[r, C]` weight (`torch.nn.utils.parametrizations.orthogonal`, r < C:
/// the Householder map with trivialization), as LoReFT's projection uses it: with `X = originalᵀ` `[C, r]`,
/// `v_i = e_i + (X's column i below the diagonal)`, `τ_i = 2 / (1 + Σ_{j>i} X_ji²)`,
/// `Q = H_0 ⋯ H_{r−1}·I_{C×r}` (`H_i = I − τ_i v_i v_iᵀ`), each column times `trunc(X_ii)` (PyTorch's `.int()`),
/// and `R = (base · Q)ᵀ`. The diagonal gets no gradient; decoupled weight decay still shrinks it, and once
/// `|X_ii| < 1` its truncation zeroes the column — AdapterHub's LoReFT behaves so with weight decay, and so does this.
public enum HouseholderOrthogonal {
    /// - Parameters: projection `[r, C]` out; original `[r, C]`; base `[C, C]`; saved `[r·C·r]` receives the
    ///   partial products `M_1 … M_r` (`[C, r]` each) for the backward pass.
    public static func forward(
        projection: UnsafeMutablePointer<Float>, original: UnsafePointer<Float>, base: UnsafePointer<Float>,
        saved: UnsafeMutablePointer<Float>, rank r: Int, channels c: Int
    ) {
        // M_r = I_{C×r}; M_i = H_i·M_{i+1}; saved[i] keeps M_{i+1}, the input of H_i.
        var m = [Float](repeating: 0, count: c * r)
        for i in 0..<min(r, c) { m[i * r + i] = 1 }
        for i in stride(from: r - 1, through: 0, by: -1) {
            // Keep M_{i+1} (the input of H_i) for the backward pass.
            m.withUnsafeBufferPointer { (saved + i * c * r).update(from: $0.baseAddress!, count: c * r) }
            let tau = Self.tau(original, row: i, channels: c)
            // w = vᵀ·M (length r); M −= τ·v·w.
            var w = [Float](repeating: 0, count: r)
            for k in 0..<r {
                var s = m[i * r + k]
                for j in (i + 1)..<c { s += original[i * c + j] * m[j * r + k] }
                w[k] = s
            }
            for k in 0..<r { m[i * r + k] -= tau * w[k] }
            for j in (i + 1)..<c {
                let vj = original[i * c + j]
                for k in 0..<r { m[j * r + k] -= tau * vj * w[k] }
            }
        }
        // Q·diag(trunc(X_ii)), then base·Q `[C, r]`, stored transposed as the projection `[r, C]`.
        for k in 0..<r {
            let sign = Float(Int(original[k * c + k]))
            for j in 0..<c { m[j * r + k] *= sign }
        }
        m.withUnsafeBufferPointer { q in
            // projection = Qᵀ·baseᵀ: [r, C] = (base·Q)ᵀ.
            GEMM.multiply(.transpose, .transpose, m: r, n: c, k: c, a: q.baseAddress!, lda: r, b: base, ldb: c, c: projection, ldc: c)
        }
    }

    static func tau(_ original: UnsafePointer<Float>, row i: Int, channels c: Int) -> Float {
        var s: Float = 0
        for j in (i + 1)..<c { s += original[i * c + j] * original[i * c + j] }
        return 2 / (1 + s)
    }

    /// Backward from `dProjection` `[r, C]`: accumulates into `dOriginal` `[r, C]` (only entries right of the
    /// diagonal receive gradient). `saved` as the forward left it.
    public static func backward(
        dOriginal: UnsafeMutablePointer<Float>, dProjection: UnsafePointer<Float>, original: UnsafePointer<Float>,
        base: UnsafePointer<Float>, saved: UnsafePointer<Float>, rank r: Int, channels c: Int
    ) {
        // dQ = (baseᵀ·dRᵀ)·diag(sign)  [C, r]
        var g = [Float](repeating: 0, count: c * r)
        g.withUnsafeMutableBufferPointer { gp in
            GEMM.multiply(.transpose, .transpose, m: c, n: r, k: c, a: base, lda: c, b: dProjection, ldb: c, c: gp.baseAddress!, ldc: r)
        }
        for k in 0..<r {
            let sign = Float(Int(original[k * c + k]))
            for j in 0..<c { g[j * r + k] *= sign }
        }
        // Q = H_0·M_1, M_i = H_i·M_{i+1}: G is the gradient of M_i, starting with i = 0.
        for i in 0..<r {
            let m = saved + i * c * r  // M_{i+1}
            let tau = Self.tau(original, row: i, channels: c)
            // a = vᵀ·G, w = vᵀ·M (length r); v = e_i + original[i, i+1...].
            var a = [Float](repeating: 0, count: r)
            var w = [Float](repeating: 0, count: r)
            for k in 0..<r {
                var sa = g[i * r + k]
                var sw = m[i * r + k]
                for j in (i + 1)..<c {
                    let vj = original[i * c + j]
                    sa += vj * g[j * r + k]
                    sw += vj * m[j * r + k]
                }
                a[k] = sa
                w[k] = sw
            }
            // dτ = −a·w; dv = −τ·(G·w + M·a); then τ's own dependence on v: dτ/dv_j = −τ²·v_j.
            var dTau: Float = 0
            for k in 0..<r { dTau -= a[k] * w[k] }
            for j in (i + 1)..<c {
                var gw: Float = 0
                var ma: Float = 0
                for k in 0..<r {
                    gw += g[j * r + k] * w[k]
                    ma += m[j * r + k] * a[k]
                }
                let vj = original[i * c + j]
                dOriginal[i * c + j] += -tau * (gw + ma) - dTau * tau * tau * vj
            }
            // G ← H_i·G (the gradient of M_{i+1}).
            for k in 0..<r { g[i * r + k] -= tau * a[k] }
            for j in (i + 1)..<c {
                let vj = original[i * c + j]
                for k in 0..<r { g[j * r + k] -= tau * vj * a[k] }
            }
        }
    }
}
