/// One (x, y) observation.
public struct DataPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// How a line series is drawn.
public struct SeriesStyle: Equatable, Sendable {
    /// A CSS colour; nil takes `Palette.color(i)` for the series' position i in the chart.
    public var color: String?
    /// Dashed rather than solid, to tell apart series that share a colour (train vs. eval).
    public var dashed: Bool
    /// Stroke width in user units.
    public var lineWidth: Double
    /// Stroke opacity, 0…1.
    public var opacity: Double
    /// Whether the series gets a legend entry (a faint raw companion of a smoothed line does not).
    public var showsInLegend: Bool
    /// A dot at every point, for sparse series (a few evaluations).
    public var markers: Bool

    public init(color: String? = nil, dashed: Bool = false, lineWidth: Double = 2, opacity: Double = 1,
                showsInLegend: Bool = true, markers: Bool = false) {
        self.color = color
        self.dashed = dashed
        self.lineWidth = lineWidth
        self.opacity = opacity
        self.showsInLegend = showsInLegend
        self.markers = markers
    }

    public static let solid = SeriesStyle()
    public static let dashed = SeriesStyle(dashed: true)
    /// Thin and translucent, kept out of the legend: the raw values behind a smoothed line.
    public static let faint = SeriesStyle(lineWidth: 1, opacity: 0.3, showsInLegend: false)
}

/// A named sequence of points drawn as one line.
///
/// Points whose x or y is not finite (or not positive on a log axis) are skipped and split the line:
/// a NaN loss between two evaluations shows as a gap, not as a line drawn across it.
public struct Series: Equatable, Sendable {
    public var name: String
    public var points: [DataPoint]
    public var style: SeriesStyle

    public init(name: String, points: [(x: Double, y: Double)], style: SeriesStyle = .solid) {
        self.name = name
        self.points = points.map { DataPoint(x: $0.x, y: $0.y) }
        self.style = style
    }

    /// Pairs `xs[i]` with `ys[i]`; the longer array's tail is ignored.
    public init(name: String, xs: [Double], ys: [Double], style: SeriesStyle = .solid) {
        self.name = name
        self.points = zip(xs, ys).map { DataPoint(x: $0, y: $1) }
        self.style = style
    }

    /// A noisy curve (a per-step training loss) as two series in one colour: the raw values faint and
    /// out of the legend, and their exponential moving average solid under `name`.
    public static func rawAndSmoothed(name: String, xs: [Double], ys: [Double], alpha: Double = 0.1,
                                      color: String) -> [Series] {
        let count = min(xs.count, ys.count)
        let xs = Array(xs.prefix(count))
        let ys = Array(ys.prefix(count))
        var raw = SeriesStyle.faint
        raw.color = color
        return [Series(name: "\(name) (raw)", xs: xs, ys: ys, style: raw),
                Series(name: name, xs: xs, ys: Smoothing.ema(ys, alpha: alpha), style: SeriesStyle(color: color))]
    }
}

/// A point with an optional vertical error bar and label: a method's mean accuracy over seeds
/// against its trainable parameters, with the confidence interval as the bar.
public struct ErrorPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    /// The bar's lower end; no bar unless both ends are finite.
    public var low: Double?
    /// The bar's upper end.
    public var high: Double?
    /// Text drawn next to the point.
    public var label: String?

    public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil, label: String? = nil) {
        self.x = x
        self.y = y
        self.low = low
        self.high = high
        self.label = label
    }
}

/// A named group of points in a scatter chart, drawn in one colour and marker shape.
public struct ScatterSeries: Equatable, Sendable {
    public var name: String
    public var points: [ErrorPoint]
    /// A CSS colour; nil takes `Palette.color(i)`.
    public var color: String?

    public init(name: String, points: [ErrorPoint], color: String? = nil) {
        self.name = name
        self.points = points
        self.color = color
    }
}
