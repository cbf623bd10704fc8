/// One bar: a value with an optional whisker (a confidence interval, the spread over seeds).
public struct BarValue: Equatable, Sendable {
    public var value: Double
    public var low: Double?
    public var high: Double?

    public init(_ value: Double, low: Double? = nil, high: Double? = nil) {
        self.value = value
        self.low = low
        self.high = high
    }
}

/// One bar per category, in one colour.
public struct BarSeries: Equatable, Sendable {
    public var name: String
    public var bars: [BarValue]
    /// A CSS colour; nil takes `Palette.color(i)`.
    public var color: String?

    public init(name: String, bars: [BarValue], color: String? = nil) {
        self.name = name
        self.bars = bars
        self.color = color
    }

    public init(name: String, values: [Double], color: String? = nil) {
        self.init(name: name, bars: values.map { BarValue($0) }, color: color)
    }
}

/// Vertical bars by category, grouped when there are several series: accuracy per method (one
/// series), or per method and dataset (a series per dataset).
///
/// On a linear axis bars rise from zero (which the axis always includes); on a log axis from the
/// axis's lower end. Non-finite values, and non-positive ones on a log axis, draw no bar.
public struct BarChart: Chart {
    public var title: String
    public var categoryLabel: String
    public var valueLabel: String
    public var categories: [String]
    public var series: [BarSeries]
    public var scale: Scale
    /// How the value axis's ticks are written.
    public var style: NumberStyle
    /// How the value printed on each bar is written; nil prints none.
    public var valueLabels: LabelFormat?

    /// Throws `ChartError.lengthMismatch` unless every series has one bar per category.
    public init(title: String, categoryLabel: String = "", valueLabel: String = "", categories: [String],
                series: [BarSeries], scale: Scale = .linear, style: NumberStyle = .si,
                valueLabels: LabelFormat? = .significant(3)) throws(ChartError) {
        for group in series where group.bars.count != categories.count {
            throw .lengthMismatch(what: "bars of \(group.name)", expected: categories.count, actual: group.bars.count)
        }
        self.title = title
        self.categoryLabel = categoryLabel
        self.valueLabel = valueLabel
        self.categories = categories
        self.series = series
        self.scale = scale
        self.style = style
        self.valueLabels = valueLabels
    }

    public func svg(width: Int, height: Int) -> String {
        var canvas = ChartCanvas(kind: "bar", kindName: "Bar chart", width: width, height: height, title: title,
                                 description: "Bar chart of \(categories.count) categories and \(series.count) "
                                     + "series: \(series.map(\.name).joined(separator: ", ")).")
        var top = canvas.drawTitle(title)
        let colors = series.indices.map { series[$0].color ?? Palette.color($0) }
        let entries = series.indices.map { LegendEntry(name: series[$0].name, color: colors[$0], mark: .box) }
        top = canvas.drawLegend(entries, top: top)

        let bars = series.flatMap(\.bars).filter { scale.accepts($0.value) }
        let values = bars.flatMap { bar in [bar.value, bar.low, bar.high].compactMap { $0 } }
        guard !categories.isEmpty, !bars.isEmpty,
              let domain = AxisDomain(covering: values, scale: scale, includeZero: true) else {
            canvas.drawEmpty(in: canvas.plotRect(top: top + 4, left: ChartCanvas.padding,
                                                 bottom: ChartCanvas.padding, right: ChartCanvas.padding))
            return canvas.finish()
        }

        // Horizontal margins first: they fix the band width, which decides whether labels rotate.
        let tickLabels = Ticks.labels(for: domain.ticks, scale: scale, style: style)
        let margins = ChartCanvas.xyMargins(yLabels: tickLabels, xLabels: [], xTitle: categoryLabel,
                                            yTitle: valueLabel)
        let plotWidth = max(canvas.width - margins.left - ChartCanvas.padding - 4, 10)
        let band = plotWidth / Double(categories.count)
        let categoryWidth = categories.map { ChartCanvas.textWidth($0, size: ChartCanvas.tickSize) }.max() ?? 0
        let rotateCategories = categoryWidth > band - 4
        // A rotated label (−35°) hangs below the axis by about sin 35° of its length.
        let categoryDepth = rotateCategories ? categoryWidth * 0.58 + 4 : 0
        let plot = canvas.plotRect(top: top + 8, left: margins.left, bottom: margins.bottom + categoryDepth,
                                   right: ChartCanvas.padding + 4)

        let barWidth = band * 0.78 / Double(max(series.count, 1))
        let labels = valueLabels.map { format in series.map { $0.bars.map { format.string($0.value) } } } ?? []
        let labelWidth = labels.joined().map { ChartCanvas.textWidth($0, size: 12) }.max() ?? 0
        let rotateValues = labelWidth > barWidth + 6
        let headroom = valueLabels == nil ? 4 : (rotateValues ? min(labelWidth + 6, plot.height * 0.4) : 18)
        let value = PlacedAxis(domain: domain, style: style, start: plot.maxY, end: plot.y + headroom)

        drawValueGrid(plot: plot, axis: value, into: &canvas)
        canvas.drawAxisLines(plot: plot)
        canvas.drawYTicks(plot: plot, y: value)
        for (index, category) in categories.enumerated() {
            let centre = plot.x + band * (Double(index) + 0.5)
            if rotateCategories {
                canvas.text(category, x: centre + 4, y: plot.maxY + 14, cssClass: "tick", size: ChartCanvas.tickSize,
                            anchor: "end", fill: "#444444", rotation: -35)
            } else {
                canvas.text(category, x: centre, y: plot.maxY + 6 + ChartCanvas.tickSize, cssClass: "tick",
                            size: ChartCanvas.tickSize, anchor: "middle", fill: "#444444")
            }
        }
        canvas.drawAxisTitles(plot: plot, xTitle: categoryLabel, yTitle: valueLabel)

        let baseline = scale == .linear ? value.position(0) : value.start
        for (seriesIndex, group) in series.enumerated() {
            canvas.svg.open("g", [("class", "series series-\(seriesIndex)")])
            canvas.svg.element("title", text: group.name)
            for (index, bar) in group.bars.enumerated() where scale.accepts(bar.value) {
                let left = plot.x + band * (Double(index) + 0.11) + barWidth * Double(seriesIndex)
                let end = value.position(bar.value)
                canvas.svg.open("rect", [
                    ("class", "bar"), ("x", svgNumber(left + 1)), ("y", svgNumber(min(end, baseline))),
                    ("width", svgNumber(max(barWidth - 2, 1))), ("height", svgNumber(abs(baseline - end))),
                    ("fill", colors[seriesIndex]),
                ])
                let shown = valueLabels?.string(bar.value) ?? LabelFormat.significant(3).string(bar.value)
                canvas.svg.element("title", text: "\(group.name), \(categories[index]): \(shown)")
                canvas.svg.close("rect")
                let whiskerTop = drawWhisker(bar, x: left + barWidth / 2, axis: value, into: &canvas.svg)
                guard valueLabels != nil else { continue }
                let above = min(end, whiskerTop ?? end, baseline) - 4
                if rotateValues {
                    canvas.text(shown, x: left + barWidth / 2 + 4, y: above, cssClass: "bar-label", size: 12,
                                fill: "#222222", rotation: -90)
                } else if bar.value < 0 && scale == .linear {
                    canvas.text(shown, x: left + barWidth / 2, y: max(end, baseline) + 14, cssClass: "bar-label",
                                size: 12, anchor: "middle", fill: "#222222")
                } else {
                    canvas.text(shown, x: left + barWidth / 2, y: above, cssClass: "bar-label", size: 12,
                                anchor: "middle", fill: "#222222")
                }
            }
            canvas.svg.close("g")
        }
        return canvas.finish()
    }

    private func drawValueGrid(plot: Rect, axis: PlacedAxis, into canvas: inout ChartCanvas) {
        canvas.svg.open("g", [("class", "grid"), ("stroke", "#e4e4e4"), ("stroke-width", "1")])
        for tick in axis.domain.ticks {
            let py = axis.position(tick)
            canvas.svg.leaf("line", [("x1", svgNumber(plot.x)), ("y1", svgNumber(py)),
                                     ("x2", svgNumber(plot.maxX)), ("y2", svgNumber(py))])
        }
        canvas.svg.close("g")
    }

    /// Draws the bar's whisker if it has two finite ends and returns the y of its top.
    private func drawWhisker(_ bar: BarValue, x: Double, axis: PlacedAxis, into svg: inout SVGWriter) -> Double? {
        guard let low = bar.low, let high = bar.high, low.isFinite, high.isFinite else { return nil }
        func position(_ v: Double) -> Double { scale.accepts(v) ? axis.position(v) : axis.start }
        let top = position(max(low, high))
        let bottom = position(min(low, high))
        let path = "M\(svgNumber(x - 4)) \(svgNumber(top))H\(svgNumber(x + 4))"
            + "M\(svgNumber(x)) \(svgNumber(top))V\(svgNumber(bottom))"
            + "M\(svgNumber(x - 4)) \(svgNumber(bottom))H\(svgNumber(x + 4))"
        svg.leaf("path", [("class", "whisker"), ("d", path), ("fill", "none"), ("stroke", "#333333"),
                          ("stroke-width", "1.5")])
        return top
    }
}
