import Foundation

/// How an axis maps values to positions.
public enum Scale: Sendable, Equatable {
    /// Equal distances for equal differences.
    case linear
    /// Equal distances for equal ratios (base 10): trainable-parameter counts spanning 10⁴…10⁸,
    /// learning rates, losses falling over orders of magnitude.
    case log

    /// Whether `value` can be drawn on this scale: finite, and positive for `.log`. Values that
    /// cannot are skipped (and break a line), never clamped to a made-up position.
    public func accepts(_ value: Double) -> Bool {
        switch self {
        case .linear: return value.isFinite
        case .log: return value.isFinite && value > 0
        }
    }
}

/// The range an axis shows and its ticks, computed from the data.
///
/// The range is the nice-number cover of the data (the first tick at or below the smallest value,
/// the last at or above the largest), so every tick sits inside the plot and the ends are labelled.
/// A range of zero width (one point, all values equal) is widened around the value first.
public struct AxisDomain: Equatable, Sendable {
    public let scale: Scale
    public let lower: Double
    public let upper: Double
    /// Ascending; the first is `lower` and the last `upper`.
    public let ticks: [Double]

    /// The domain for `values`, ignoring those the scale does not accept; nil when none is left.
    /// `includeZero` keeps 0 in a linear domain (bar charts measure from it). `targetTicks` is the
    /// rough number of intervals on a linear axis; a log axis shows up to `targetTicks` + 3 decades
    /// before thinning them.
    public init?(covering values: [Double], scale: Scale, includeZero: Bool = false, targetTicks: Int = 5) {
        var usable = values.filter(scale.accepts)
        if includeZero && scale == .linear { usable.append(0) }
        guard let low = usable.min(), let high = usable.max() else { return nil }
        let ticks: [Double]
        switch scale {
        case .linear: ticks = Ticks.linear(min: low, max: high, target: targetTicks)
        // Decade labels are short and evenly spaced, so a log axis takes a few more.
        case .log: ticks = Ticks.log(min: low, max: high, target: targetTicks + 3)
        }
        guard let first = ticks.first, let last = ticks.last, first < last else { return nil }
        self.scale = scale
        self.lower = first
        self.upper = last
        self.ticks = ticks
    }

    /// Where `value` lies between `lower` (0) and `upper` (1); outside 0…1 for values beyond the domain.
    /// Only meaningful for values the scale accepts.
    public func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: return (value - lower) / (upper - lower)
        case .log: return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }
}
