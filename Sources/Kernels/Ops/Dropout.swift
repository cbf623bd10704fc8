import CVectorKernels

/// Inverted dropout with a counter-based mask: element `i` is kept when
/// `CounterRNG.uniform(seed, offset + i) ≥ p` and then scaled by `1/(1−p)`, as `torch.nn.Dropout`
/// in training mode. The backward regenerates the same mask from `(seed, offset)`.
public enum Dropout {
    public static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, p: Float,
        seed: UInt64, offset: UInt64 = 0
    ) {
        apply(out: out, x: x, count: count, p: p, seed: seed, offset: offset, accumulate: false)
    }

    /// `dx (+)= mask ⊙ dout / (1−p)`.
    public static func backward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int, p: Float,
        seed: UInt64, offset: UInt64 = 0, accumulate: Bool = false
    ) {
        apply(out: dx, x: dout, count: count, p: p, seed: seed, offset: offset, accumulate: accumulate)
    }

    /// Whether element `index` of the stream `seed` survives.
    @inlinable @inline(__always)
    public static func keeps(seed: UInt64, index: UInt64, p: Float) -> Bool {
        CounterRNG.uniform(seed: seed, index: index) >= p
    }

    /// Single-threaded form for callers already inside a parallel region (attention).
    public static func serial(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, p: Float,
        seed: UInt64, offset: UInt64
    ) {
        sa_dropout(out, x, count, p, seed, offset, 0)
    }

    static func apply(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, p: Float,
        seed: UInt64, offset: UInt64, accumulate: Bool
    ) {
        if p <= 0 {
            if accumulate {
                Residual.accumulate(into: out, x, count: count)
            } else if UnsafePointer(out) != x {
                out.update(from: x, count: count)
            }
            return
        }
        Threading.parallelRanges(count, minChunk: 1 << 14) { range in
            let lo = range.lowerBound
            sa_dropout(out + lo, x + lo, range.count, p, seed, offset &+ UInt64(lo), accumulate ? 1 : 0)
        }
    }
}
