import Foundation

/// McNemar's test for two classifiers scored on the same examples.
///
/// Only the discordant examples carry information about which method is better: under H₀ (equal
/// accuracy) each of them is equally likely to favour either method. Unlike comparing two
/// accuracies as independent proportions, this uses the pairing, and so detects small differences
/// on a shared test set.
public enum McNemar {
    /// The discordant counts and both p-values.
    public struct Result: Equatable, Sendable {
        /// The number of paired examples.
        public let count: Int
        /// Examples that `a` got wrong and `b` got right.
        public let b01: Int
        /// Examples that `a` got right and `b` got wrong.
        public let b10: Int
        /// accuracy(a) − accuracy(b) = (b10 − b01) / count.
        public let difference: Double
        /// The exact two-sided binomial p-value of b10 out of b01 + b10 under p = ½ (statsmodels'
        /// `mcnemar(exact=True)`, `scipy.stats.binomtest(b01, b01 + b10, 0.5).pvalue`); 1 when there
        /// are no discordant pairs. The one to report.
        public let exactPValue: Double
        /// (|b01 − b10| − 1)² / (b01 + b10), the statistic with Edwards' continuity correction as
        /// statsmodels and R's `mcnemar.test` compute it (not clamped at 0, so b01 = b10 gives
        /// 1 / (b01 + b10)); 0 when there are no discordant pairs.
        public let chiSquare: Double
        /// P(χ²₁ > chiSquare) = erfc(√(chiSquare / 2)); 1 when there are no discordant pairs.
        public let chiSquarePValue: Double
    }

    /// Tests whether `a` and `b` (per-example correctness of two methods, in the same example order)
    /// differ in accuracy. The arrays must be non-empty and of equal length.
    public static func test(a: [Bool], b: [Bool]) throws(StatisticsError) -> Result {
        try InputChecks.paired(a.count, b.count)
        var b01 = 0
        var b10 = 0
        for (x, y) in zip(a, b) where x != y {
            if y { b01 += 1 } else { b10 += 1 }
        }
        let discordant = b01 + b10
        let exact = BinomialTest.twoSidedHalf(successes: b01, trials: discordant)
        var chiSquare = 0.0
        var chiSquareP = 1.0
        if discordant > 0 {
            let excess = Double(abs(b01 - b10)) - 1
            chiSquare = excess * excess / Double(discordant)
            chiSquareP = erfc((chiSquare / 2).squareRoot())
        }
        return Result(count: a.count, b01: b01, b10: b10, difference: Double(b10 - b01) / Double(a.count),
                      exactPValue: exact, chiSquare: chiSquare, chiSquarePValue: chiSquareP)
    }
}
