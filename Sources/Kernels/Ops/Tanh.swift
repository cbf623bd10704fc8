import CVectorKernels

/// Element-wise tanh (the pooler and the RoBERTa classification head).
public enum Tanh {
    /// `out = tanh(x)`; `out` may equal `x`.
    public static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int) {
        sa_tanh_forward(out, x, count)
    }

    /// `dx (+)= dout · (1 − y²)` from the forward's output `y`.
    public static func backward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, y: UnsafePointer<Float>,
        count: Int, accumulate: Bool = false
    ) {
        mapVectors(count) { i, lanes in
            let t = loadPartial(y, i, lanes)
            var g = loadPartial(dout, i, lanes) * (1 - t * t)
            if accumulate { g += loadPartial(dx, i, lanes) }
            storePartial(dx, i, lanes, g)
        }
    }
}
