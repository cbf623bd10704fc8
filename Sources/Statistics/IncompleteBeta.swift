import Foundation

/// The regularized incomplete beta function I_x(a, b), the CDF of the Beta(a, b) distribution.
///
/// It underlies both distributions this module needs: Student's t (its tail is I at ν/(ν+t²)) and the
/// binomial (its CDF is I at one half). Evaluated with the continued fraction for I_x(a, b) (DLMF 8.17.22),
/// summed with the modified Lentz method, on whichever of x or 1 − x makes it converge fast; the other
/// side comes from the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
enum IncompleteBeta {
    /// Returns I_x(a, b) and its complement 1 − I_x(a, b), each computed without cancellation where
    /// it is the small one.
    ///
    /// `y` must be 1 − x; callers pass it separately because they often know it more exactly than
    /// `1 - x` would give (the t distribution's t²/(ν+t²) when x is close to 1).
    static func regularized(a: Double, b: Double, x: Double, y: Double) -> (lower: Double, upper: Double) {
        if x <= 0 { return (0, 1) }
        if y <= 0 { return (1, 0) }
        // x^a y^b / B(a, b), in logs; log1p keeps the side close to 1 exact.
        let logX = x <= 0.5 ? log(x) : log1p(-y)
        let logY = y <= 0.5 ? log(y) : log1p(-x)
        let front = exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * logX + b * logY)
        if x < (a + 1) / (a + b + 2) {
            let lower = front * continuedFraction(a: a, b: b, x: x) / a
            return (lower, 1 - lower)
        }
        let upper = front * continuedFraction(a: b, b: a, x: y) / b
        return (1 - upper, upper)
    }

    /// log Γ(v) for v > 0, through the reentrant `lgamma_r` (plain `lgamma` writes the global
    /// `signgam`, a data race when tests run in parallel).
    static func logGamma(_ v: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(v, &sign)
    }

    /// 1 / (1 + d₁ / (1 + d₂ / (1 + …))) with d₂ₘ₊₁ = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and
    /// d₂ₘ = m(b−m)x / ((a+2m−1)(a+2m)): converges quickly for x < (a+1)/(a+b+2).
    private static func continuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        func guarded(_ v: Double) -> Double { abs(v) < tiny ? tiny : v }
        var c = 1.0
        var d = 1 / guarded(1 - (a + b) * x / (a + 1))
        var result = d
        // The number of terms grows like √max(a, b); 10 000 covers a, b up to ~10⁷.
        for step in 1...10_000 {
            let m = Double(step)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 / guarded(1 + even * d)
            c = guarded(1 + even / c)
            result *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 / guarded(1 + odd * d)
            c = guarded(1 + odd / c)
            let factor = d * c
            result *= factor
            if abs(factor - 1) < 1e-16 { break }
        }
        return result
    }
}
