import Foundation

/// How a single value is written next to its mark (on a bar, in a cell).
public struct LabelFormat: Equatable, Sendable {
    enum Precision: Equatable, Sendable {
        case significant(Int)
        case decimals(Int)
    }

    let style: NumberStyle
    let precision: Precision

    /// `digits` significant digits: 0.8412 → "0.841", 0.8 → "0.800", 1234567 → "1.23M".
    public static func significant(_ digits: Int, style: NumberStyle = .si) -> LabelFormat {
        LabelFormat(style: style, precision: .significant(max(digits, 1)))
    }

    /// Exactly `decimals` decimals, zeros kept so that labels line up: 84.10 %, 0.840. For `.percent`
    /// they count in the percentage (0.8412 with 1 → "84.1%"); for `.si` in the prefixed unit.
    public static func decimals(_ decimals: Int, style: NumberStyle = .plain) -> LabelFormat {
        LabelFormat(style: style, precision: .decimals(max(decimals, 0)))
    }

    /// Accuracy-style percentages with one decimal: 0.8412 → "84.1%".
    public static let percent = LabelFormat.decimals(1, style: .percent)

    /// `value` in this format; "" when it is not finite.
    public func string(_ value: Double) -> String {
        guard value.isFinite else { return "" }
        let shown = style == .percent ? value * 100 : value
        switch precision {
        case let .decimals(decimals):
            switch style {
            case .plain: return NumberText.fixed(value, decimals: decimals, trimmed: false, minus: "−")
            case .percent: return NumberText.fixed(shown, decimals: decimals, trimmed: false, minus: "−") + "%"
            case .si:
                let divisor = Ticks.prefix(for: abs(value)).0
                return Ticks.format(value, step: NumberText.powerOfTen(-decimals) * divisor, style: .si)
            }
        case let .significant(digits):
            guard shown != 0 else { return Ticks.format(0, step: 1, style: style) }
            let magnitude = Int(log10(abs(shown)).rounded(.down))
            var step = NumberText.powerOfTen(magnitude - digits + 1)
            if style == .percent { step /= 100 }
            return Ticks.format(value, step: step, style: style)
        }
    }
}
