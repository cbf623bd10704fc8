/// Points with optional vertical error bars: each method's mean score over seeds (the bar its
/// confidence interval) against its trainable parameters, typically on a log x axis.
///
/// Series differ in colour and marker shape. Points that cannot be drawn are skipped; an error bar
/// needs both ends finite, and on a log y axis an end at or below zero is cut at the axis.
public struct ScatterChart: Chart {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [ScatterSeries]
    public var xScale: Scale
    public var yScale: Scale
    public var xStyle: NumberStyle
    public var yStyle: NumberStyle
    /// Whether points' `label`s are drawn next to them.
    public var showsLabels: Bool

    public init(title: String, xLabel: String = "", yLabel: String = "", series: [ScatterSeries],
                xScale: Scale = .log, yScale: Scale = .linear, xStyle: NumberStyle = .si,
                yStyle: NumberStyle = .si, showsLabels: Bool = true) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xScale = xScale
        self.yScale = yScale
        self.xStyle = xStyle
        self.yStyle = yStyle
        self.showsLabels = showsLabels
    }

    private func drawable(_ point: ErrorPoint) -> Bool {
        xScale.accepts(point.x) && yScale.accepts(point.y)
    }

    public func svg(width: Int, height: Int) -> String {
        let names = series.map(\.name).joined(separator: ", ")
        var canvas = ChartCanvas(kind: "scatter", kindName: "Scatter chart", width: width, height: height,
                                 title: title, description: "Scatter chart with \(series.count) series: \(names).")
        var top = canvas.drawTitle(title)
        let colors = series.indices.map { series[$0].color ?? Palette.color($0) }
        let entries = series.indices.map { i in
            LegendEntry(name: series[i].name, color: colors[i], mark: .marker(MarkerShape.forSeries(i)))
        }
        top = canvas.drawLegend(entries, top: top)

        let points = series.flatMap(\.points).filter(drawable)
        let ys = points.flatMap { point in [point.y, point.low, point.high].compactMap { $0 } }
        guard let frame = canvas.drawXYFrame(
            top: top, xs: points.map(\.x), ys: ys, xScale: xScale, yScale: yScale, xStyle: xStyle, yStyle: yStyle,
            xTitle: xLabel, yTitle: yLabel, inset: 10) else { return canvas.finish() }
        let (x, y) = frame

        for (index, group) in series.enumerated() {
            canvas.svg.open("g", [("class", "series series-\(index)")])
            canvas.svg.element("title", text: group.name)
            for point in group.points where drawable(point) {
                drawErrorBar(point, x: x, y: y, color: colors[index], into: &canvas.svg)
            }
            for point in group.points where drawable(point) {
                MarkerShape.forSeries(index).draw(into: &canvas.svg, x: x.position(point.x), y: y.position(point.y),
                                                  radius: 5, color: colors[index], cssClass: "series-point")
            }
            if showsLabels {
                for point in group.points where drawable(point) {
                    guard let label = point.label, !label.isEmpty else { continue }
                    let px = x.position(point.x)
                    // Labels that would run past the plot's right edge go to the left of their point.
                    let fitsRight = px + 8 + ChartCanvas.textWidth(label, size: 12) <= canvas.width
                    canvas.text(label, x: fitsRight ? px + 8 : px - 8, y: y.position(point.y) - 6,
                                cssClass: "point-label", size: 12, anchor: fitsRight ? "start" : "end",
                                fill: "#333333")
                }
            }
            canvas.svg.close("g")
        }
        return canvas.finish()
    }

    /// A vertical line from low to high with short caps.
    private func drawErrorBar(_ point: ErrorPoint, x: PlacedAxis, y: PlacedAxis, color: String,
                              into svg: inout SVGWriter) {
        guard let low = point.low, let high = point.high, low.isFinite, high.isFinite else { return }
        // On a log axis an end at or below zero has no position: cut the bar at the axis.
        func position(_ value: Double) -> Double {
            y.domain.scale.accepts(value) ? y.position(value) : y.start
        }
        let px = x.position(point.x)
        let top = position(max(low, high))
        let bottom = position(min(low, high))
        let cap = 4.0
        let path = "M\(svgNumber(px - cap)) \(svgNumber(top))H\(svgNumber(px + cap))"
            + "M\(svgNumber(px)) \(svgNumber(top))V\(svgNumber(bottom))"
            + "M\(svgNumber(px - cap)) \(svgNumber(bottom))H\(svgNumber(px + cap))"
        svg.leaf("path", [("class", "error-bar"), ("d", path), ("fill", "none"), ("stroke", color),
                          ("stroke-width", "1.5")])
    }
}
