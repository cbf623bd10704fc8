/// Smoothing for noisy curves such as per-step training loss.
public enum Smoothing {
    /// The exponential moving average s = α·y + (1 − α)·s, started at the first finite value.
    ///
    /// Non-finite inputs stay non-finite in the output (so the smoothed line has the same gaps as
    /// the raw one) and leave the average where it was. `alpha` is clamped to (0, 1]; larger follows
    /// the data more closely.
    public static func ema(_ ys: [Double], alpha: Double) -> [Double] {
        let alpha = alpha.isFinite ? min(max(alpha, 1e-6), 1) : 1
        var state: Double?
        return ys.map { y in
            guard y.isFinite else { return y }
            let next = state.map { alpha * y + (1 - alpha) * $0 } ?? y
            state = next
            return next
        }
    }

    /// The mean of each value and the `window` − 1 before it (fewer at the start), over finite
    /// values only; non-finite inputs stay non-finite. A window below 1 counts as 1.
    public static func movingAverage(_ ys: [Double], window: Int) -> [Double] {
        let window = max(window, 1)
        return ys.indices.map { i in
            guard ys[i].isFinite else { return ys[i] }
            let slice = ys[max(0, i - window + 1)...i].filter(\.isFinite)
            return slice.reduce(0, +) / Double(slice.count)
        }
    }
}
