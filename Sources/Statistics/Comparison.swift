import Foundation

/// One method compared with another, put into the sentence a report prints under its table:
///
///     seq_bn is 1.8 points better than lora (95 % CI 0.4 … 3.1; McNemar p = 0.012): significant at 5 %
///
/// It holds the numbers rather than the test, so any test's result can be phrased the same way.
public struct Comparison: Equatable, Sendable {
    /// The method being judged ("seq_bn").
    public var method: String
    /// What it is judged against ("lora").
    public var baseline: String
    /// method − baseline in the metric's own units (a fraction, for accuracy).
    public var difference: Double
    /// A confidence interval for `difference`, if the test gives one.
    public var interval: ClosedRange<Double>?
    /// The interval's coverage, e.g. 0.95.
    public var confidence: Double
    /// The test behind `pValue`, as the sentence names it ("McNemar", "bootstrap").
    public var testName: String
    /// The two-sided p-value.
    public var pValue: Double
    /// Whether a larger metric is better (accuracy) or worse (loss, error rate).
    public var higherIsBetter: Bool

    public init(
        method: String, baseline: String, difference: Double, interval: ClosedRange<Double>?,
        confidence: Double = 0.95, testName: String, pValue: Double, higherIsBetter: Bool = true
    ) {
        self.method = method
        self.baseline = baseline
        self.difference = difference
        self.interval = interval
        self.confidence = confidence
        self.testName = testName
        self.pValue = pValue
        self.higherIsBetter = higherIsBetter
    }

    /// The usual pairing for classifiers on one test set: the bootstrap's difference and interval,
    /// and McNemar's exact p-value when given (it is exact, where the bootstrap's is resolution-bound),
    /// else the bootstrap's.
    public init(method: String, baseline: String, bootstrap: PairedBootstrap.Result, mcnemar: McNemar.Result? = nil) {
        self.init(method: method, baseline: baseline, difference: bootstrap.difference,
                  interval: bootstrap.interval, confidence: bootstrap.confidence,
                  testName: mcnemar == nil ? "bootstrap" : "McNemar",
                  pValue: mcnemar?.exactPValue ?? bootstrap.pValue)
    }

    /// Whether p < alpha.
    public func isSignificant(alpha: Double = 0.05) -> Bool {
        pValue < alpha
    }

    /// The comparison in words. Differences and interval bounds are multiplied by `scale` (100 turns
    /// an accuracy fraction into percentage points) and printed with `decimals` decimals; a difference
    /// that rounds to zero reads as "level".
    public func sentence(alpha: Double = 0.05, scale: Double = 100, unit: String = "points", decimals: Int = 1)
        -> String {
        let shown = Self.fixed(abs(difference * scale), decimals: decimals)
        let headline: String
        if Double(shown) == 0 {
            headline = "\(method) and \(baseline) are level"
        } else {
            let better = (difference > 0) == higherIsBetter
            headline = "\(method) is \(shown) \(unit) \(better ? "better" : "worse") than \(baseline)"
        }
        var details: [String] = []
        if let interval {
            let low = Self.fixed(interval.lowerBound * scale, decimals: decimals)
            let high = Self.fixed(interval.upperBound * scale, decimals: decimals)
            details.append("\(Self.percent(confidence)) CI \(low) … \(high)")
        }
        details.append("\(testName) p \(Self.formatP(pValue, alpha: alpha))")
        let verdict = isSignificant(alpha: alpha) ? "significant" : "not significant"
        return "\(headline) (\(details.joined(separator: "; "))): \(verdict) at \(Self.percent(alpha))"
    }

    /// "= 0.012", "= 0.43", "< 0.001": two significant digits, and more where two would round the
    /// value onto or across `alpha` (0.0496 prints as "= 0.0496", not "= 0.050", next to
    /// "significant at 5 %").
    public static func formatP(_ p: Double, alpha: Double = 0.05) -> String {
        if p < 0.001 { return "< 0.001" }
        let magnitude = Int(log10(p).rounded(.down))
        for digits in 2...6 {
            let text = fixed(p, decimals: max(0, digits - 1 - magnitude))
            guard let shown = Double(text) else { break }
            if (shown < alpha) == (p < alpha) && (shown != alpha || p == alpha) { return "= \(text)" }
        }
        return "= \(fixed(p, decimals: 6))"
    }

    /// `value` with exactly `decimals` decimals, without a sign on zero ("-0.0" would read as a
    /// direction).
    static func fixed(_ value: Double, decimals: Int) -> String {
        let text = String(format: "%.\(max(0, decimals))f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    /// 0.95 → "95 %", 0.995 → "99.5 %".
    static func percent(_ fraction: Double) -> String {
        var text = fixed(fraction * 100, decimals: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return "\(text) %"
    }
}
