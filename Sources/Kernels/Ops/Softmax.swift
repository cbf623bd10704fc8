/// Row-wise softmax over `[rows, cols]`, max-subtracted for stability.
public enum Softmax {
    /// `out[r] = softmax(scale · x[r])`; `out` may equal `x`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, cols: Int,
        scale: Float = 1
    ) {
        Threading.parallelRanges(rows, minChunk: max(1, 4096 / max(cols, 1))) { range in
            for r in range { row(out: out + r * cols, x: x + r * cols, cols: cols, scale: scale) }
        }
    }

    /// One row, on the calling thread (the attention kernel calls this inside its own loop).
    @inlinable @inline(__always)
    public static func row(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, cols: Int, scale: Float
    ) {
        var mx = FloatVector(repeating: -.infinity)
        mapVectors(cols) { i, lanes in
            mx = VectorMath.max(mx, loadPartial(x, i, lanes, pad: -.infinity))
        }
        let m = mx.max() * scale
        var acc = FloatVector(repeating: 0)
        mapVectors(cols) { i, lanes in
            var e = VectorMath.exp(loadPartial(x, i, lanes) * scale - m)
            if lanes < 16 {
                for l in lanes..<16 { e[l] = 0 }
            }
            acc += e
            storePartial(out, i, lanes, e)
        }
        let inv = 1 / acc.sum()
        mapVectors(cols) { i, lanes in
            storePartial(out, i, lanes, loadPartial(out, i, lanes) * inv)
        }
    }

    /// `dx = p ⊙ (dp − Σ p⊙dp)` per row (times `scale` when the forward was scaled); `dx` may
    /// equal `dp`.
    public static func backward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        rows: Int, cols: Int, scale: Float = 1
    ) {
        Threading.parallelRanges(rows, minChunk: max(1, 4096 / max(cols, 1))) { range in
            for r in range {
                rowBackward(
                    dx: dx + r * cols, dout: dout + r * cols, probs: probs + r * cols, cols: cols,
                    scale: scale)
            }
        }
    }

    @inlinable @inline(__always)
    public static func rowBackward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        cols: Int, scale: Float
    ) {
        var acc = FloatVector(repeating: 0)
        mapVectors(cols) { i, lanes in
            acc += loadPartial(probs, i, lanes) * loadPartial(dout, i, lanes)
        }
        let dot = acc.sum()
        mapVectors(cols) { i, lanes in
            let p = loadPartial(probs, i, lanes)
            storePartial(dx, i, lanes, p * (loadPartial(dout, i, lanes) - dot) * scale)
        }
    }
}
