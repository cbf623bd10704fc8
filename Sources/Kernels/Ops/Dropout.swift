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

    /// Dropout over packed sequences, each with a stream of its own: rows `rowOffsets[b] ..< rowOffsets[b+1]`
    /// of `[rows, channels]` use the stream `hash(seed, keys[b])` from index 0, so a sequence's mask
    /// depends on its key alone, not on the batch it is packed into. `backward` (`accumulate` false)
    /// is the same call on the gradient.
    public static func sequences(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rowOffsets: [Int], keys: [UInt64], channels: Int,
        p: Float, seed: UInt64
    ) {
        precondition(keys.count == rowOffsets.count - 1, "one dropout key per sequence")
        let total = (rowOffsets.last ?? 0) * channels
        if p <= 0 {
            if UnsafePointer(out) != x { out.update(from: x, count: total) }
            return
        }
        Threading.parallelRanges(keys.count, minChunk: max(1, (1 << 14) / max(1, total / max(1, keys.count)))) { range in
            for b in range {
                let lo = rowOffsets[b] * channels
                let n = (rowOffsets[b + 1] - rowOffsets[b]) * channels
                if n > 0 { serial(out: out + lo, x: x + lo, count: n, p: p, seed: CounterRNG.hash(seed: seed, index: keys[b]), offset: 0) }
            }
        }
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
