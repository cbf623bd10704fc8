/// The paired bootstrap for a difference of means between two methods scored on the same examples
/// (or the same seeds).
///
/// Each resample draws n example indices with replacement and takes the mean of a − b over them;
/// resampling pairs, not the two arrays separately, keeps the correlation between the methods, which
/// is what makes small differences on a shared test set detectable.
public enum PairedBootstrap {
    /// The observed difference, its percentile interval and the bootstrap p-value.
    public struct Result: Equatable, Sendable {
        /// The number of pairs.
        public let count: Int
        /// mean(a) − mean(b) on the data as given.
        public let difference: Double
        /// The percentile interval of the resampled differences: their (1 − confidence)/2 and
        /// (1 + confidence)/2 quantiles, linearly interpolated between order statistics at position
        /// q · (resamples − 1), as numpy's default `quantile`.
        public let interval: ClosedRange<Double>
        /// The coverage the interval was built for, e.g. 0.95.
        public let confidence: Double
        /// Two-sided: 2 · (the fraction of resampled differences on the other side of zero from the
        /// observed one, zero itself included), capped at 1; 1 when the observed difference is 0.
        /// Its resolution is 2 / resamples: 0 means "below 2 / resamples", not "impossible".
        public let pValue: Double
        /// The number of resamples drawn.
        public let resamples: Int
        /// The seed they were drawn with; the same seed and data give the same result everywhere.
        public let seed: UInt64
    }

    /// Compares two metric vectors paired by index. Both must be non-empty, finite and of equal
    /// length; `resamples` ≥ 1; `confidence` in (0, 1).
    public static func test(
        a: [Double], b: [Double], resamples: Int = 10_000, seed: UInt64 = 0, confidence: Double = 0.95
    ) throws(StatisticsError) -> Result {
        try InputChecks.paired(a.count, b.count)
        try InputChecks.finiteNonEmpty(a, what: "a")
        try InputChecks.finiteNonEmpty(b, what: "b")
        try InputChecks.openUnitInterval(confidence, name: "confidence")
        if resamples < 1 { throw .invalidArgument(name: "resamples", value: Double(resamples)) }

        let differences = zip(a, b).map { $0 - $1 }
        let n = differences.count
        let observed = differences.reduce(0, +) / Double(n)
        var generator = Xoshiro256StarStar(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n {
                sum += differences[Int(generator.next(below: UInt64(n)))]
            }
            means[r] = sum / Double(n)
        }
        means.sort()

        let opposite: Int
        if observed > 0 {
            opposite = means.prefix { $0 <= 0 }.count
        } else if observed < 0 {
            opposite = means.reversed().prefix { $0 >= 0 }.count
        } else {
            opposite = resamples
        }
        let pValue = min(1, 2 * Double(opposite) / Double(resamples))
        let low = quantile(sorted: means, (1 - confidence) / 2)
        let high = quantile(sorted: means, (1 + confidence) / 2)
        return Result(count: n, difference: observed, interval: low...high, confidence: confidence,
                      pValue: pValue, resamples: resamples, seed: seed)
    }

    /// The same for per-example correctness (true = 1, false = 0): the difference is in accuracy.
    public static func test(
        a: [Bool], b: [Bool], resamples: Int = 10_000, seed: UInt64 = 0, confidence: Double = 0.95
    ) throws(StatisticsError) -> Result {
        try test(a: a.map { $0 ? 1.0 : 0.0 }, b: b.map { $0 ? 1.0 : 0.0 },
                 resamples: resamples, seed: seed, confidence: confidence)
    }

    /// The q-quantile of ascending `sorted` (non-empty), interpolating at position q · (count − 1).
    static func quantile(sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below)
        return sorted[below] + (sorted[above] - sorted[below]) * fraction
    }
}
