import Foundation

/// Mean and spread of one metric over several runs (seeds), with a Student-t confidence interval
/// for the mean: what a report prints as "84.1 ± 0.6 (95 % CI 83.3 … 84.9, n = 5)".
public struct Summary: Equatable, Sendable {
    /// The number of values.
    public let count: Int
    /// The arithmetic mean.
    public let mean: Double
    /// The sample standard deviation (divisor n − 1); 0 for a single value.
    public let standardDeviation: Double
    /// The standard error of the mean, standardDeviation / √n; 0 for a single value.
    public let standardError: Double
    /// The coverage the interval was built for, e.g. 0.95.
    public let confidence: Double
    /// mean ± t_{(1+confidence)/2, n−1} · standardError; nil for a single value, whose spread is
    /// unknown (not zero).
    public let interval: ClosedRange<Double>?

    /// Summarises `values`, which must be non-empty and finite; `confidence` must lie in (0, 1).
    ///
    /// The variance is computed in two passes (deviations from the mean), like numpy's
    /// `std(ddof=1)`, so values with a large common offset keep their precision.
    public init(values: [Double], confidence: Double = 0.95) throws(StatisticsError) {
        try InputChecks.finiteNonEmpty(values, what: "values")
        try InputChecks.openUnitInterval(confidence, name: "confidence")
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        self.count = values.count
        self.mean = mean
        self.confidence = confidence
        guard values.count > 1 else {
            standardDeviation = 0
            standardError = 0
            interval = nil
            return
        }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        standardDeviation = (squares / (n - 1)).squareRoot()
        standardError = standardDeviation / n.squareRoot()
        let t = try StudentT.quantile((1 + confidence) / 2, degreesOfFreedom: n - 1)
        interval = (mean - t * standardError)...(mean + t * standardError)
    }
}
