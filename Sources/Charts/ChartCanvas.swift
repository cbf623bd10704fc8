/// The parts every chart shares: the root `<svg>`, title, legend, axes, gridlines and the empty state.
///
/// Sizes are in viewBox units. The page scales the SVG to its width, and on narrow pages the
/// stylesheet enlarges text by up to a third, so the margins reserved for text are estimated at the
/// enlarged size: labels may then sit a little loose on wide pages, but are not clipped on narrow ones.
struct ChartCanvas {
    static let padding = 8.0
    static let titleSize = 16.0
    static let axisLabelSize = 13.0
    static let tickSize = 12.0
    static let legendSize = 12.0
    /// How much the stylesheet's narrow-page rules may enlarge text.
    static let enlargement = 1.34

    var svg = SVGWriter()
    let width: Double
    let height: Double

    /// Opens the root element (scalable: a viewBox and width 100 %, no pixel size) with its
    /// accessible name, description and a white background.
    /// `kind` is a CSS-ready word ("line" gives class "chart chart-line"); `kindName` names the chart
    /// to assistive technology when it has no title.
    init(kind: String, kindName: String, width: Int, height: Int, title: String, description: String) {
        self.width = Double(max(width, 1))
        self.height = Double(max(height, 1))
        let name = title.isEmpty ? kindName : title
        svg.open("svg", [
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("class", "chart chart-\(kind)"),
            ("viewBox", "0 0 \(svgNumber(self.width)) \(svgNumber(self.height))"),
            ("width", "100%"),
            ("preserveAspectRatio", "xMidYMid meet"),
            ("role", "img"),
            ("aria-label", name),
            ("font-family", "sans-serif"),
        ])
        svg.element("title", text: name)
        svg.element("desc", text: description)
        svg.leaf("rect", [("class", "chart-bg"), ("x", "0"), ("y", "0"), ("width", svgNumber(self.width)),
                          ("height", svgNumber(self.height)), ("fill", "#ffffff")])
    }

    /// Closes the root element and returns the document.
    mutating func finish() -> String {
        svg.close("svg")
        return svg.output
    }

    /// Estimated advance width of `text` at `size`, at the enlarged size narrow pages may use.
    static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.6 * enlargement
    }

    // MARK: - Text

    mutating func text(_ content: String, x: Double, y: Double, cssClass: String, size: Double,
                       anchor: String = "start", fill: String = "#222222", bold: Bool = false, rotation: Double = 0) {
        var attributes: SVGWriter.Attributes = [("class", cssClass), ("x", svgNumber(x)), ("y", svgNumber(y)),
                                                ("font-size", svgNumber(size)), ("fill", fill)]
        if anchor != "start" { attributes.append(("text-anchor", anchor)) }
        if bold { attributes.append(("font-weight", "600")) }
        if rotation != 0 {
            attributes.append(("transform", "rotate(\(svgNumber(rotation)) \(svgNumber(x)) \(svgNumber(y)))"))
        }
        svg.element("text", attributes, text: content)
    }

    /// Draws the title, wrapped onto at most two lines, and returns the y below it.
    mutating func drawTitle(_ title: String) -> Double {
        let top = Self.padding
        guard !title.isEmpty else { return top }
        let perLine = max(8, Int((width - 2 * Self.padding) / (Self.titleSize * 0.6 * 1.25)))
        let lines = Self.wrap(title, perLine: perLine, maxLines: 2)
        for (i, line) in lines.enumerated() {
            text(line, x: Self.padding, y: top + Self.titleSize + Double(i) * 20, cssClass: "chart-title",
                 size: Self.titleSize, bold: true)
        }
        return top + Double(lines.count) * 20 + 6
    }

    /// Splits `text` at spaces into lines of about `perLine` characters; the last line takes the rest.
    static func wrap(_ text: String, perLine: Int, maxLines: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty && current.count + 1 + word.count > perLine && lines.count < maxLines - 1 {
                lines.append(current)
                current = String(word)
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        lines.append(current)
        return lines
    }

    // MARK: - Legend

    /// Draws the legend in rows below `top` when there is more than one entry, and returns the y
    /// below it (`top` when nothing was drawn).
    mutating func drawLegend(_ entries: [LegendEntry], top: Double) -> Double {
        guard entries.count > 1 else { return top }
        let rowHeight = 18.0
        let swatch = 20.0
        var x = Self.padding
        var y = top + 6
        svg.open("g", [("class", "legend-items")])
        for entry in entries {
            let itemWidth = swatch + 6 + Self.textWidth(entry.name, size: Self.legendSize) + 14
            if x > Self.padding && x + itemWidth > width - Self.padding {
                x = Self.padding
                y += rowHeight
            }
            let middle = y + rowHeight / 2
            switch entry.mark {
            case let .line(dashed, lineWidth, opacity):
                var attributes: SVGWriter.Attributes = [
                    ("class", "legend-swatch"), ("x1", svgNumber(x)), ("y1", svgNumber(middle)),
                    ("x2", svgNumber(x + swatch)), ("y2", svgNumber(middle)), ("stroke", entry.color),
                    ("stroke-width", svgNumber(max(lineWidth, 2))),
                ]
                if dashed { attributes.append(("stroke-dasharray", "6 3")) }
                if opacity < 1 { attributes.append(("stroke-opacity", svgNumber(opacity))) }
                svg.leaf("line", attributes)
            case let .marker(shape):
                shape.draw(into: &svg, x: x + swatch / 2, y: middle, radius: 5, color: entry.color,
                           cssClass: "legend-swatch")
            case .box:
                svg.leaf("rect", [("class", "legend-swatch"), ("x", svgNumber(x + 4)), ("y", svgNumber(middle - 6)),
                                  ("width", "12"), ("height", "12"), ("fill", entry.color)])
            }
            text(entry.name, x: x + swatch + 6, y: middle + 4, cssClass: "legend", size: Self.legendSize)
            x += itemWidth
        }
        svg.close("g")
        return y + rowHeight + 4
    }

    // MARK: - Plot area

    /// The plot rectangle left once `top` and the reserved margins are taken, never degenerate.
    func plotRect(top: Double, left: Double, bottom: Double, right: Double) -> Rect {
        let x = min(left, width - 20)
        let y = min(top, height - 20)
        return Rect(x: x, y: y, width: max(width - right - x, 10), height: max(height - bottom - y, 10))
    }

    /// The empty state: a framed area saying "no data", drawn instead of axes.
    mutating func drawEmpty(in plot: Rect, message: String = "no data") {
        svg.leaf("rect", [("class", "plot-frame"), ("x", svgNumber(plot.x)), ("y", svgNumber(plot.y)),
                          ("width", svgNumber(plot.width)), ("height", svgNumber(plot.height)),
                          ("fill", "#f7f7f7"), ("stroke", "#cccccc")])
        text(message, x: plot.midX, y: plot.midY + 5, cssClass: "empty", size: 14, anchor: "middle", fill: "#666666")
    }

    /// Gridlines, axis lines, tick labels and axis titles for an x/y chart.
    mutating func drawAxes(plot: Rect, x: PlacedAxis, y: PlacedAxis, xTitle: String, yTitle: String) {
        svg.open("g", [("class", "grid"), ("stroke", "#e4e4e4"), ("stroke-width", "1")])
        for tick in x.domain.ticks {
            let px = x.position(tick)
            svg.leaf("line", [("x1", svgNumber(px)), ("y1", svgNumber(plot.y)),
                              ("x2", svgNumber(px)), ("y2", svgNumber(plot.maxY))])
        }
        for tick in y.domain.ticks {
            let py = y.position(tick)
            svg.leaf("line", [("x1", svgNumber(plot.x)), ("y1", svgNumber(py)),
                              ("x2", svgNumber(plot.maxX)), ("y2", svgNumber(py))])
        }
        svg.close("g")
        drawAxisLines(plot: plot)
        for (tick, label) in zip(x.domain.ticks, x.labels) {
            text(label, x: x.position(tick), y: plot.maxY + 6 + Self.tickSize, cssClass: "tick",
                 size: Self.tickSize, anchor: "middle", fill: "#444444")
        }
        drawYTicks(plot: plot, y: y)
        drawAxisTitles(plot: plot, xTitle: xTitle, yTitle: yTitle)
    }

    /// The left and bottom axis lines.
    mutating func drawAxisLines(plot: Rect) {
        svg.leaf("path", [("class", "axis"), ("d", "M\(svgNumber(plot.x)) \(svgNumber(plot.y))"
            + "V\(svgNumber(plot.maxY))H\(svgNumber(plot.maxX))"), ("fill", "none"), ("stroke", "#888888")])
    }

    /// Tick labels right-aligned left of the plot.
    mutating func drawYTicks(plot: Rect, y: PlacedAxis) {
        for (tick, label) in zip(y.domain.ticks, y.labels) {
            text(label, x: plot.x - 6, y: y.position(tick) + 4, cssClass: "tick", size: Self.tickSize,
                 anchor: "end", fill: "#444444")
        }
    }

    /// The x title centred under the plot and the y title rotated along its left edge.
    mutating func drawAxisTitles(plot: Rect, xTitle: String, yTitle: String) {
        if !xTitle.isEmpty {
            text(xTitle, x: plot.midX, y: height - Self.padding - 2, cssClass: "axis-label",
                 size: Self.axisLabelSize, anchor: "middle")
        }
        if !yTitle.isEmpty {
            text(yTitle, x: Self.padding + Self.axisLabelSize, y: plot.midY, cssClass: "axis-label",
                 size: Self.axisLabelSize, anchor: "middle", rotation: -90)
        }
    }

    /// The margins an x/y chart needs around its plot for these tick labels and titles.
    /// The x/y frame shared by line and scatter charts: domains covering `xs` and `ys`, tick labels, margins
    /// sized to them, the plot area below `top` and its axes, drawn. Nil (with "no data" drawn) when no
    /// value can be placed on its scale.
    mutating func drawXYFrame(
        top: Double, xs: [Double], ys: [Double], xScale: Scale, yScale: Scale, xStyle: NumberStyle,
        yStyle: NumberStyle, xTitle: String, yTitle: String, inset: Double
    ) -> (x: PlacedAxis, y: PlacedAxis)? {
        guard let xDomain = AxisDomain(covering: xs, scale: xScale, targetTicks: 6),
              let yDomain = AxisDomain(covering: ys, scale: yScale) else {
            drawEmpty(in: plotRect(top: top + 4, left: Self.padding, bottom: Self.padding, right: Self.padding))
            return nil
        }
        let yLabels = Ticks.labels(for: yDomain.ticks, scale: yScale, style: yStyle)
        let xLabels = Ticks.labels(for: xDomain.ticks, scale: xScale, style: xStyle)
        let margins = Self.xyMargins(yLabels: yLabels, xLabels: xLabels, xTitle: xTitle, yTitle: yTitle)
        let plot = plotRect(top: top + 8, left: margins.left, bottom: margins.bottom, right: margins.right)
        let x = PlacedAxis(domain: xDomain, style: xStyle, start: plot.x + inset, end: plot.maxX - inset)
        let y = PlacedAxis(domain: yDomain, style: yStyle, start: plot.maxY - inset, end: plot.y + inset)
        drawAxes(plot: plot, x: x, y: y, xTitle: xTitle, yTitle: yTitle)
        return (x, y)
    }

    static func xyMargins(yLabels: [String], xLabels: [String], xTitle: String, yTitle: String)
        -> (left: Double, bottom: Double, right: Double) {
        let yTickWidth = yLabels.map { textWidth($0, size: tickSize) }.max() ?? 0
        let left = padding + (yTitle.isEmpty ? 0 : axisLabelSize * enlargement + 6) + yTickWidth + 8
        let bottom = padding + 6 + tickSize * enlargement + (xTitle.isEmpty ? 0 : axisLabelSize * enlargement + 6)
        let right = padding + max(8, (xLabels.last.map { textWidth($0, size: tickSize) } ?? 0) / 2)
        return (left, bottom, right)
    }
}

/// An axis domain placed along one side of the plot.
struct PlacedAxis {
    let domain: AxisDomain
    let labels: [String]
    /// The coordinate of `domain.lower`.
    let start: Double
    /// The coordinate of `domain.upper`.
    let end: Double

    init(domain: AxisDomain, style: NumberStyle, start: Double, end: Double) {
        self.domain = domain
        self.labels = Ticks.labels(for: domain.ticks, scale: domain.scale, style: style)
        self.start = start
        self.end = end
    }

    func position(_ value: Double) -> Double {
        start + (end - start) * domain.fraction(value)
    }
}

/// One legend row item.
struct LegendEntry {
    enum Mark {
        case line(dashed: Bool, width: Double, opacity: Double)
        case marker(MarkerShape)
        case box
    }

    let name: String
    let color: String
    let mark: Mark
}
