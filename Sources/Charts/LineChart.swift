/// Lines over a numeric x axis: training curves (loss or accuracy against step), one series per
/// method or seed.
///
/// Each series is split into segments at points that cannot be drawn (non-finite, or not positive on
/// a log axis); a segment of one point is drawn as a dot so that it does not vanish.
public struct LineChart: Chart {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var xScale: Scale
    public var yScale: Scale
    public var xStyle: NumberStyle
    public var yStyle: NumberStyle

    public init(title: String, xLabel: String = "", yLabel: String = "", series: [Series],
                xScale: Scale = .linear, yScale: Scale = .linear, xStyle: NumberStyle = .si,
                yStyle: NumberStyle = .si) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xScale = xScale
        self.yScale = yScale
        self.xStyle = xStyle
        self.yStyle = yStyle
    }

    /// The runs of consecutive drawable points of `points`.
    func segments(_ points: [DataPoint]) -> [[DataPoint]] {
        var result: [[DataPoint]] = []
        var current: [DataPoint] = []
        for point in points {
            if xScale.accepts(point.x) && yScale.accepts(point.y) {
                current.append(point)
            } else if !current.isEmpty {
                result.append(current)
                current = []
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    public func svg(width: Int, height: Int) -> String {
        let names = series.map(\.name).joined(separator: ", ")
        var canvas = ChartCanvas(kind: "line", kindName: "Line chart", width: width, height: height, title: title,
                                 description: "Line chart with \(series.count) series: \(names).")
        var top = canvas.drawTitle(title)
        let colors = series.indices.map { series[$0].style.color ?? Palette.color($0) }
        let entries = series.indices.filter { series[$0].style.showsInLegend }.map { i in
            LegendEntry(name: series[i].name, color: colors[i],
                        mark: .line(dashed: series[i].style.dashed, width: series[i].style.lineWidth,
                                    opacity: series[i].style.opacity))
        }
        top = canvas.drawLegend(entries, top: top)

        let segmented = series.map { segments($0.points) }
        let drawable = segmented.flatMap { $0.joined() }
        guard let frame = canvas.drawXYFrame(
            top: top, xs: drawable.map(\.x), ys: drawable.map(\.y), xScale: xScale, yScale: yScale, xStyle: xStyle,
            yStyle: yStyle, xTitle: xLabel, yTitle: yLabel, inset: 4) else { return canvas.finish() }
        let (x, y) = frame

        for (index, segments) in segmented.enumerated() {
            draw(segments, of: series[index], index: index, color: colors[index], x: x, y: y, into: &canvas.svg)
        }
        return canvas.finish()
    }

    private func draw(_ segments: [[DataPoint]], of series: Series, index: Int, color: String,
                      x: PlacedAxis, y: PlacedAxis, into svg: inout SVGWriter) {
        let style = series.style
        svg.open("g", [("class", "series series-\(index)")])
        svg.element("title", text: series.name)
        for segment in segments {
            if segment.count == 1 { continue }
            let path = segment.enumerated().map { i, point in
                "\(i == 0 ? "M" : "L")\(svgNumber(x.position(point.x))) \(svgNumber(y.position(point.y)))"
            }.joined()
            var attributes: SVGWriter.Attributes = [
                ("class", "series-line"), ("d", path), ("fill", "none"), ("stroke", color),
                ("stroke-width", svgNumber(style.lineWidth)), ("stroke-linejoin", "round"),
                ("stroke-linecap", "round"),
            ]
            if style.dashed { attributes.append(("stroke-dasharray", "6 4")) }
            if style.opacity < 1 { attributes.append(("stroke-opacity", svgNumber(style.opacity))) }
            svg.leaf("path", attributes)
        }
        for segment in segments where segment.count == 1 || style.markers {
            for point in segment {
                var attributes: SVGWriter.Attributes = [
                    ("class", "series-point"), ("cx", svgNumber(x.position(point.x))),
                    ("cy", svgNumber(y.position(point.y))), ("r", svgNumber(max(style.lineWidth * 1.5, 3))),
                    ("fill", color),
                ]
                if style.opacity < 1 { attributes.append(("fill-opacity", svgNumber(style.opacity))) }
                svg.leaf("circle", attributes)
            }
        }
        svg.close("g")
    }
}
