/// Residual connections: the forward is an add, the backward passes the gradient to both inputs.
public enum Residual {
    /// `out = a + b` over `count` floats; `out` may equal `a` or `b`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, count: Int
    ) {
        Threading.parallelRanges(count, minChunk: 1 << 15) { range in
            let lo = range.lowerBound
            mapVectors(range.count) { i, lanes in
                storePartial(
                    out + lo, i, lanes, loadPartial(a + lo, i, lanes) + loadPartial(b + lo, i, lanes))
            }
        }
    }

    /// `dst += src` over `count` floats (the backward of a residual branch into its input).
    public static func accumulate(into dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        forward(out: dst, a: dst, b: src, count: count)
    }
}
