/// A confusion matrix: rows are true classes, columns predicted classes, each cell printing its count.
///
/// Shading is by the row-normalised value (the share of the true class predicted as the column), so
/// a rare class's errors are as visible as a common one's; the count stays in the text. Text is
/// white or near-black, whichever contrasts more with its cell.
public struct Heatmap: Chart {
    public var title: String
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// counts[row][column].
    public var counts: [[Double]]
    /// The title along the rows, e.g. "true label".
    public var rowTitle: String
    /// The title under the columns, e.g. "predicted label".
    public var columnTitle: String
    /// The colour of a cell holding its whole row ("#RRGGBB"); cells blend from white towards it.
    public var color: String

    /// Throws `ChartError.lengthMismatch` unless `counts` has one row per row label and one value per
    /// column label in every row.
    public init(title: String, rowLabels: [String], columnLabels: [String], counts: [[Double]],
                rowTitle: String = "true", columnTitle: String = "predicted",
                color: String = Palette.color(0)) throws(ChartError) {
        if counts.count != rowLabels.count {
            throw .lengthMismatch(what: "rows", expected: rowLabels.count, actual: counts.count)
        }
        for (index, row) in counts.enumerated() where row.count != columnLabels.count {
            throw .lengthMismatch(what: "row \(index)", expected: columnLabels.count, actual: row.count)
        }
        self.title = title
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.counts = counts
        self.rowTitle = rowTitle
        self.columnTitle = columnTitle
        self.color = color
    }

    /// The same from integer counts.
    public init(title: String, rowLabels: [String], columnLabels: [String], counts: [[Int]],
                rowTitle: String = "true", columnTitle: String = "predicted",
                color: String = Palette.color(0)) throws(ChartError) {
        try self.init(title: title, rowLabels: rowLabels, columnLabels: columnLabels,
                      counts: counts.map { $0.map(Double.init) }, rowTitle: rowTitle, columnTitle: columnTitle,
                      color: color)
    }

    public func svg(width: Int, height: Int) -> String {
        var canvas = ChartCanvas(kind: "heatmap", kindName: "Heatmap", width: width, height: height, title: title,
                                 description: "Heatmap of \(rowLabels.count) rows (\(rowTitle)) by "
                                     + "\(columnLabels.count) columns (\(columnTitle)).")
        let top = canvas.drawTitle(title)
        guard !rowLabels.isEmpty, !columnLabels.isEmpty else {
            canvas.drawEmpty(in: canvas.plotRect(top: top + 4, left: ChartCanvas.padding,
                                                 bottom: ChartCanvas.padding, right: ChartCanvas.padding))
            return canvas.finish()
        }
        let size = ChartCanvas.tickSize
        let rowLabelWidth = rowLabels.map { ChartCanvas.textWidth($0, size: size) }.max() ?? 0
        let rowTitleWidth = rowTitle.isEmpty ? 0 : ChartCanvas.axisLabelSize * ChartCanvas.enlargement + 6
        let left = ChartCanvas.padding + rowTitleWidth + rowLabelWidth + 8
        let available = canvas.width - left - ChartCanvas.padding
        let columnLabelWidth = columnLabels.map { ChartCanvas.textWidth($0, size: size) }.max() ?? 0
        let rotateColumns = columnLabelWidth > available / Double(columnLabels.count) - 4
        let columnDepth = rotateColumns ? columnLabelWidth * 0.58 + 8 : size * ChartCanvas.enlargement + 6
        let columnTitleHeight = columnTitle.isEmpty ? 0 : ChartCanvas.axisLabelSize * ChartCanvas.enlargement + 6
        let bottom = ChartCanvas.padding + columnDepth + columnTitleHeight
        let plot = canvas.plotRect(top: top + 4, left: left, bottom: bottom, right: ChartCanvas.padding)
        let cellWidth = plot.width / Double(columnLabels.count)
        let cellHeight = plot.height / Double(rowLabels.count)
        let base = RGB(hex: color) ?? RGB(red: 0, green: 0x72 / 255, blue: 0xB2 / 255)

        canvas.svg.open("g", [("class", "cells")])
        for (row, values) in counts.enumerated() {
            let total = values.filter { $0.isFinite && $0 > 0 }.reduce(0, +)
            for (column, count) in values.enumerated() {
                let share = total > 0 && count.isFinite && count > 0 ? min(count / total, 1) : 0
                let fill = RGB.white.mixed(with: base, share)
                let x = plot.x + Double(column) * cellWidth
                let y = plot.y + Double(row) * cellHeight
                let text = Self.countText(count)
                canvas.svg.open("rect", [
                    ("class", "cell"), ("x", svgNumber(x)), ("y", svgNumber(y)), ("width", svgNumber(cellWidth)),
                    ("height", svgNumber(cellHeight)), ("fill", fill.hex), ("stroke", "#ffffff"),
                ])
                canvas.svg.element("title", text: "\(rowTitle) \(rowLabels[row]), \(columnTitle) "
                    + "\(columnLabels[column]): \(text) (\(LabelFormat.percent.string(share)) of row)")
                canvas.svg.close("rect")
                // Text that cannot fit its cell is left to the tooltip rather than spilling over neighbours.
                guard !text.isEmpty, Double(text.count) * 16 * 0.6 <= cellWidth - 2, cellHeight >= 18 else { continue }
                canvas.text(text, x: x + cellWidth / 2, y: y + cellHeight / 2 + 4.5, cssClass: "cell-label",
                            size: 13, anchor: "middle", fill: fill.legibleText.hex)
            }
        }
        canvas.svg.close("g")

        for (row, label) in rowLabels.enumerated() {
            canvas.text(label, x: plot.x - 6, y: plot.y + (Double(row) + 0.5) * cellHeight + 4, cssClass: "tick",
                        size: size, anchor: "end", fill: "#444444")
        }
        for (column, label) in columnLabels.enumerated() {
            let centre = plot.x + (Double(column) + 0.5) * cellWidth
            if rotateColumns {
                canvas.text(label, x: centre + 4, y: plot.maxY + 14, cssClass: "tick", size: size, anchor: "end",
                            fill: "#444444", rotation: -35)
            } else {
                canvas.text(label, x: centre, y: plot.maxY + 6 + size, cssClass: "tick", size: size,
                            anchor: "middle", fill: "#444444")
            }
        }
        canvas.drawAxisTitles(plot: plot, xTitle: columnTitle, yTitle: rowTitle)
        return canvas.finish()
    }

    /// Whole counts without decimals, others with up to two; "" for non-finite values.
    static func countText(_ count: Double) -> String {
        guard count.isFinite else { return "" }
        return NumberText.fixed(count, decimals: count == count.rounded() ? 0 : 2, minus: "−")
    }
}
