import Foundation

/// How numbers on axes and labels are written.
public enum NumberStyle: Sendable, Equatable {
    /// Plain decimals: 0.25, 1500.
    case plain
    /// SI prefixes for large and small magnitudes: 1.5k, 2M, 3G, 5m, 20µ. The default: parameter
    /// counts and learning rates stay short.
    case si
    /// Fractions as percentages: 0.25 → 25%.
    case percent
}

/// Tick positions and tick labels.
public enum Ticks {
    /// Ticks at multiples of a 1-2-5 step (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, …) chosen so that there are
    /// at most about `target` + 1 of them, covering min…max: the first is ≤ min, the last ≥ max.
    ///
    /// A zero-width range is widened by 10 % of the value (or by 1 around 0) so that a single value
    /// still gets an axis. Tick values are computed as integer × 10^e, so 0.3 is 0.3, not
    /// 0.30000000000000004. Empty for non-finite input.
    public static func linear(min: Double, max: Double, target: Int = 5) -> [Double] {
        guard min.isFinite, max.isFinite else { return [] }
        var low = Swift.min(min, max)
        var high = Swift.max(min, max)
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        let target = Swift.min(Swift.max(target, 1), 50)
        let raw = (high - low) / Double(target)
        var exponent = Int(log10(raw).rounded(.down))
        let residual = raw / NumberText.powerOfTen(exponent)
        var mantissa: Int
        switch residual {
        case ...1.000000001: mantissa = 1
        case ...2.000000001: mantissa = 2
        case ...5.000000001: mantissa = 5
        default: mantissa = 1; exponent += 1
        }
        let step = Double(mantissa) * NumberText.powerOfTen(exponent)
        // A range far narrower than its magnitude (1e9 ± 1e-9) has no useful nice ticks.
        guard abs(low / step) < 1e15, abs(high / step) < 1e15 else { return [low, high] }
        let first = Int((low / step + 1e-9).rounded(.down))
        let last = Int((high / step - 1e-9).rounded(.up))
        return (first...Swift.max(first, last)).map { k in
            let units = Double(k * mantissa)
            return exponent >= 0 ? units * NumberText.powerOfTen(exponent) : units / NumberText.powerOfTen(-exponent)
        }
    }

    /// Ticks for a log axis covering min…max (both must be positive): powers of ten, every
    /// ⌈decades / target⌉-th one on ranges wider than `target` decades; when the range spans less than two decades,
    /// also 2 × and 5 × each power (…, 1, 2, 5, 10, 20, …) so that a short range still gets several
    /// labels. The first tick is ≤ min and the last ≥ max. A zero-width range is widened by a factor
    /// of 2 each way. Empty for non-positive or non-finite input.
    public static func log(min: Double, max: Double, target: Int = 8) -> [Double] {
        guard min > 0, max > 0, min.isFinite, max.isFinite else { return [] }
        var low = Swift.min(min, max)
        var high = Swift.max(min, max)
        if high / low < 1.000001 {
            low /= 2
            high *= 2
        }
        let lowExponent = Int(log10(low).rounded(.down))
        let highExponent = Int(log10(high).rounded(.up))
        let tolerance = 1e-9
        if log10(high) - log10(low) < 2 {
            var candidates: [Double] = []
            for exponent in (lowExponent - 1)...(highExponent + 1) {
                for mantissa in [1.0, 2.0, 5.0] {
                    candidates.append(exponent >= 0 ? mantissa * NumberText.powerOfTen(exponent)
                                                    : mantissa / NumberText.powerOfTen(-exponent))
                }
            }
            let start = candidates.lastIndex { $0 <= low * (1 + tolerance) } ?? 0
            let end = candidates.firstIndex { $0 >= high * (1 - tolerance) } ?? candidates.count - 1
            return Array(candidates[start...end])
        }
        let decades = highExponent - lowExponent
        let stride = Swift.max(1, Int((Double(decades) / Double(Swift.max(target, 1))).rounded(.up)))
        var exponents: [Int] = []
        var exponent = lowExponent
        while true {
            exponents.append(exponent)
            if exponent >= highExponent { break }
            exponent += stride
        }
        return exponents.map { NumberText.powerOfTen($0) }
    }

    /// `value` written to the resolution `step` (the distance between neighbouring ticks, or the
    /// precision wanted): exactly as many decimals as `step` needs, so that an axis's labels line up
    /// (0.0, 0.2, …, 1.0), integers have none (3, not 3.0), and there is no float noise (0.3, not
    /// 0.30000000000000004).
    ///
    /// `.si` picks the prefix from |value| (G ≥ 10⁹, M ≥ 10⁶, k ≥ 10³; m below 10⁻², µ below 10⁻³,
    /// n below 10⁻⁶) and counts the decimals in the prefixed unit (1500 at step 500 is "1.5k");
    /// `.percent` writes value × 100 followed by "%". Negative values use the minus sign U+2212.
    /// Non-finite values give "".
    public static func format(_ value: Double, step: Double, style: NumberStyle = .si) -> String {
        format(value, step: step, style: style, prefix: nil)
    }

    /// Labels for an axis's ticks. On a linear axis the resolution is the tick step, and a small SI
    /// prefix, when every tick is below 10⁻², is shared by the whole axis (0, 1m, 2m rather than
    /// 0.000, 1m, 0.002); on a log axis each tick is written at its own resolution (1, 2, 5, 10, 1k, 1M).
    public static func labels(for ticks: [Double], scale: Scale, style: NumberStyle = .si) -> [String] {
        switch scale {
        case .linear:
            let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : abs(ticks.first ?? 1)
            let largest = ticks.map(abs).max() ?? 0
            let shared = largest > 0 && largest < 1e-2 ? prefix(for: largest) : nil
            return ticks.map { format($0, step: step, style: style, prefix: shared) }
        case .log:
            return ticks.map { tick in
                let magnitude = NumberText.powerOfTen(Int(log10(abs(tick)).rounded(.down)))
                return format(tick, step: magnitude, style: style, prefix: nil)
            }
        }
    }

    /// `format(_:step:style:)` with the SI prefix fixed by the caller, or chosen from |value| when nil.
    static func format(_ value: Double, step: Double, style: NumberStyle, prefix: (Double, String)?) -> String {
        guard value.isFinite else { return "" }
        switch style {
        case .plain:
            return NumberText.fixed(value, decimals: decimals(for: step), trimmed: false, minus: "−")
        case .percent:
            let places = decimals(for: step * 100)
            let percent = NumberText.fixed(value * 100, decimals: places, trimmed: false, minus: "−")
            return percent + "%"
        case .si:
            let (divisor, suffix) = prefix ?? Self.prefix(for: abs(value))
            let text = NumberText.fixed(value / divisor, decimals: decimals(for: step / divisor), trimmed: false,
                                        minus: "−")
            return value == 0 ? text : text + suffix
        }
    }

    /// The SI prefix whose range holds `magnitude`.
    static func prefix(for magnitude: Double) -> (Double, String) {
        switch magnitude {
        case 1e9...: return (1e9, "G")
        case 1e6...: return (1e6, "M")
        case 1e3...: return (1e3, "k")
        case 0: return (1, "")
        case ..<1e-6: return (1e-9, "n")
        case ..<1e-3: return (1e-6, "µ")
        case ..<1e-2: return (1e-3, "m")
        default: return (1, "")
        }
    }

    /// The fewest decimals (at most 12) that write `step` without rounding it.
    static func decimals(for step: Double) -> Int {
        let step = abs(step)
        guard step.isFinite, step > 0 else { return 2 }
        for decimals in 0...12 {
            let scaled = step * NumberText.powerOfTen(decimals)
            if abs(scaled - scaled.rounded()) <= 1e-6 * scaled { return decimals }
        }
        return 12
    }
}
