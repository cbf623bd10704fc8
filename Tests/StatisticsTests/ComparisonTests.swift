import Statistics
import Testing

@Suite("Comparison sentences")
struct ComparisonTests {
    @Test("a significant improvement")
    func better() {
        let comparison = Comparison(method: "seq_bn", baseline: "lora", difference: 0.018, interval: 0.004...0.031,
                                    testName: "McNemar", pValue: 0.0123)
        #expect(comparison.sentence()
            == "seq_bn is 1.8 points better than lora (95 % CI 0.4 … 3.1; McNemar p = 0.012): significant at 5 %")
    }

    @Test("a non-significant deficit, and lower-is-better metrics")
    func worse() {
        var comparison = Comparison(method: "lora", baseline: "full", difference: -0.0042, interval: -0.011...0.0021,
                                    testName: "bootstrap", pValue: 0.43)
        #expect(comparison.sentence()
            == "lora is 0.4 points worse than full (95 % CI -1.1 … 0.2; bootstrap p = 0.43): not significant at 5 %")
        comparison.higherIsBetter = false
        #expect(comparison.sentence(scale: 1, unit: "nats", decimals: 3).hasPrefix("lora is 0.004 nats better"))
    }

    @Test("a difference that rounds to zero is level; no interval is left out")
    func level() {
        let comparison = Comparison(method: "a", baseline: "b", difference: 0.0004, interval: nil,
                                    testName: "McNemar", pValue: 1)
        #expect(comparison.sentence() == "a and b are level (McNemar p = 1.0): not significant at 5 %")
    }

    @Test("p-values print with enough digits to stay on their side of alpha",
          arguments: [(0.0123, "= 0.012"), (0.43, "= 0.43"), (0.0004, "< 0.001"), (0.0496, "= 0.0496"),
                      (0.05, "= 0.050"), (0.0504, "= 0.0504"), (0.00123, "= 0.0012")])
    func pValues(p: Double, text: String) {
        #expect(Comparison.formatP(p) == text)
    }

    @Test("built from a bootstrap and McNemar result")
    func fromResults() throws {
        // b10 = 7, b01 = 1: p = 2 · 9 / 256 = 0.0703125.
        let a = [Bool](repeating: true, count: 9) + [false]
        let b = [Bool](repeating: false, count: 7) + [true, true, true]
        let bootstrap = try PairedBootstrap.test(a: a, b: b, resamples: 500, seed: 0)
        let mcnemar = try McNemar.test(a: a, b: b)
        let comparison = Comparison(method: "x", baseline: "y", bootstrap: bootstrap, mcnemar: mcnemar)
        #expect(comparison.testName == "McNemar")
        #expect(comparison.pValue == mcnemar.exactPValue)
        #expect(comparison.difference == 0.6)
        #expect(comparison.sentence(alpha: 0.1).hasPrefix("x is 60.0 points better than y (95 % CI "))
        #expect(comparison.sentence(alpha: 0.1).hasSuffix("McNemar p = 0.070): significant at 10 %"))
    }
}
