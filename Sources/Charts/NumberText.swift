/// Fixed-point number text, written by hand rather than with `String(format:)` so that the output
/// never depends on a locale, never shows binary noise (0.30000000000000004) and is the same on
/// every platform: the SVG is compared byte for byte.
enum NumberText {
    /// `value` rounded to `decimals` decimals; trailing zeros (and a bare point) dropped when
    /// `trimmed`. Negative numbers use `minus`; a value that rounds to zero has no sign.
    static func fixed(_ value: Double, decimals: Int, trimmed: Bool = true, minus: String = "-") -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "\(minus)∞" : "∞") }
        let decimals = min(max(decimals, 0), 15)
        let factor = powerOfTen(decimals)
        let scaled = (abs(value) * factor).rounded()
        // Beyond 2⁶³ an integer conversion would trap; such numbers print through Swift itself.
        guard scaled < 9.0e18 else { return value.description }
        let units = UInt64(scaled)
        if units == 0 { return trimmed || decimals == 0 ? "0" : "0." + String(repeating: "0", count: decimals) }
        let divisor = UInt64(factor)
        var text = String(units / divisor)
        if decimals > 0 {
            var fraction = String(units % divisor)
            fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
            if trimmed {
                while fraction.hasSuffix("0") { fraction.removeLast() }
            }
            if !fraction.isEmpty { text += "." + fraction }
        }
        return value < 0 ? minus + text : text
    }

    /// An SVG coordinate or length: two decimals at most, which is far below a pixel at any
    /// reasonable size and keeps files small.
    static func coordinate(_ value: Double) -> String {
        fixed(value.isFinite ? value : 0, decimals: 2)
    }

    /// 10^exponent, exact for 0 ≤ exponent ≤ 22 and correctly rounded below (1 / an exact power), so
    /// tick values built from it carry no accumulated error.
    static func powerOfTen(_ exponent: Int) -> Double {
        if exponent < 0 { return 1 / powerOfTen(-exponent) }
        var result = 1.0
        for _ in 0..<min(exponent, 308) { result *= 10 }
        return result
    }
}
