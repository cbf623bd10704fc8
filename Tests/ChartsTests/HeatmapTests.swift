import Charts
import Testing

@Suite("Heatmap")
struct HeatmapTests {
    static let labels = ["negative", "neutral", "positive"]
    static let counts = [[412, 31, 9], [44, 120, 38], [7, 29, 455]]

    @Test("cells print their counts with legible text and row-normalised shading")
    func confusionMatrix() throws {
        let chart = try Heatmap(title: "Confusion", rowLabels: Self.labels, columnLabels: Self.labels,
                                counts: Self.counts)
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        let cells = document.elements(withClass: "cell")
        #expect(cells.count == 9)
        let texts = document.elements(withClass: "cell-label")
        #expect(texts.map(\.text) == ["412", "31", "9", "44", "120", "38", "7", "29", "455"])
        // The dominant diagonal cells are dark with white text; the small off-diagonal ones light with dark text.
        #expect(texts[0].attributes["fill"] == "#FFFFFF")
        #expect(texts[8].attributes["fill"] == "#FFFFFF")
        #expect(texts[2].attributes["fill"] == "#222222")
        #expect(cells[2].attributes["fill"] != cells[0].attributes["fill"])
        // Row-normalised: 120 of 202 in row 1 is darker than 31 of 452 in row 0 although 120 > 31 either way,
        // and 44 of 202 is darker than 31 of 452.
        #expect(luminance(cells[3]) < luminance(cells[1]))
        let ticks = document.elements(withClass: "tick").map(\.text)
        #expect(ticks.filter { $0 == "neutral" }.count == 2)
        #expect(document.texts.contains("true") && document.texts.contains("predicted"))
    }

    @Test("an all-zero row stays white; fractional counts keep up to two decimals")
    func zeroRow() throws {
        let chart = try Heatmap(title: "t", rowLabels: ["a", "b"], columnLabels: ["x", "y"],
                                counts: [[0, 0], [0.5, 1.25]])
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        #expect(document.elements(withClass: "cell")[0].attributes["fill"] == "#FFFFFF")
        #expect(document.elements(withClass: "cell-label").map(\.text) == ["0", "0", "0.5", "1.25"])
    }

    @Test("shape mismatches are refused")
    func mismatch() {
        #expect(throws: ChartError.lengthMismatch(what: "rows", expected: 3, actual: 2)) {
            try Heatmap(title: "t", rowLabels: Self.labels, columnLabels: Self.labels, counts: [[1, 2, 3], [4, 5, 6]])
        }
        #expect(throws: ChartError.lengthMismatch(what: "row 1", expected: 2, actual: 1)) {
            try Heatmap(title: "t", rowLabels: ["a", "b"], columnLabels: ["x", "y"], counts: [[1, 2], [3]])
        }
    }

    @Test("no classes shows \"no data\"")
    func empty() throws {
        let chart = try Heatmap(title: "t", rowLabels: [], columnLabels: [], counts: [[Int]]())
        #expect(try SVGDocument(chart.svg(width: 640, height: 360)).texts.contains("no data"))
    }

    private func luminance(_ cell: SVGDocument.Element) -> Double {
        let hex = (cell.attributes["fill"] ?? "#FFFFFF").dropFirst()
        let value = UInt32(hex, radix: 16) ?? 0xFFFFFF
        return Double((value >> 16) & 0xFF) + Double((value >> 8) & 0xFF) + Double(value & 0xFF)
    }
}
