import Foundation

/// The exact two-sided binomial test of H₀: p = ½, the core of McNemar's exact test.
enum BinomialTest {
    /// The two-sided p-value for `successes` out of `trials` under p = ½: the probability of an
    /// outcome at most as likely as the observed one, 2 · P(X ≤ min(k, n − k)) capped at 1.
    ///
    /// For p = ½ this equals `scipy.stats.binomtest(k, n, 0.5).pvalue` (whose "at most as likely"
    /// set is symmetric here). P(X ≤ k) = I_{½}(n − k, k + 1), so large n costs no more than small.
    /// No trials at all is no evidence: p = 1.
    static func twoSidedHalf(successes: Int, trials: Int) -> Double {
        let k = min(successes, trials - successes)
        if trials == 0 || 2 * k >= trials { return 1 }
        let cdf = IncompleteBeta.regularized(a: Double(trials - k), b: Double(k + 1), x: 0.5, y: 0.5).lower
        return min(1, 2 * cdf)
    }
}
