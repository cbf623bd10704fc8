import CVectorKernels

/// Row-wise softmax over `[rows, cols]`, max-subtracted for stability. Row loops are in
/// CVectorKernels (vectorised exp).
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
    public static func row(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, cols: Int, scale: Float) {
        sa_softmax_row(out, x, cols, scale)
    }

    /// `dx = p ⊙ (dp − Σ p⊙dp)` per row (times `scale` when the forward was scaled); `dx` may
    /// equal `dout`.
    public static func backward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        rows: Int, cols: Int, scale: Float = 1
    ) {
        Threading.parallelRanges(rows, minChunk: max(1, 4096 / max(cols, 1))) { range in
            for r in range {
                rowBackward(dx: dx + r * cols, dout: dout + r * cols, probs: probs + r * cols, cols: cols, scale: scale)
            }
        }
    }

    @inlinable @inline(__always)
    public static func rowBackward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        cols: Int, scale: Float
    ) {
        sa_softmax_row_backward(dx, dout, probs, cols, scale)
    }
}
