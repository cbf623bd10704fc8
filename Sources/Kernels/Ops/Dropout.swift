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
        let scale = p >= 1 ? 0 : 1 / (1 - p)
        for i in 0..<count {
            out[i] = keeps(seed: seed, index: offset &+ UInt64(i), p: p) ? x[i] * scale : 0
        }
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
        let scale = p >= 1 ? 0 : 1 / (1 - p)
        Threading.parallelRanges(count, minChunk: 1 << 14) { range in
            for i in range {
                let keep = keeps(seed: seed, index: offset &+ UInt64(i), p: p)
                let v = keep ? x[i] * scale : 0
                out[i] = accumulate ? out[i] + v : v
            }
        }
    }
}
