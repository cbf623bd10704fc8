import Charts
import Testing

@Suite("Line chart")
struct LineChartTests {
    static let curve = Series(name: "seq_bn", points: [(x: 0, y: 1.2), (x: 100, y: 0.8), (x: 200, y: 0.5)])

    @Test("renders well-formed SVG with one path per series, ticks and axis titles")
    func basic() throws {
        let chart = LineChart(title: "Loss", xLabel: "step", yLabel: "loss",
                              series: [Self.curve, Series(name: "lora", xs: [0, 100, 200], ys: [1.1, 0.9, 0.7],
                                                          style: .dashed)])
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        let lines = document.elements(withClass: "series-line")
        #expect(lines.count == 2)
        #expect(lines[0].attributes["stroke"] == Palette.color(0))
        #expect(lines[1].attributes["stroke-dasharray"] != nil)
        #expect(document.texts.contains("step") && document.texts.contains("loss"))
        #expect(document.elements(withClass: "tick").map(\.text).contains("200"))
        #expect(!document.elements(withClass: "grid").isEmpty)
        #expect(!document.texts.contains("no data"))
    }

    @Test("all series empty shows \"no data\"")
    func empty() throws {
        for series in [[], [Series(name: "a", points: [])], [Series(name: "a", points: [(x: .nan, y: 1)])]] {
            let document = try SVGDocument(LineChart(title: "Nothing yet", series: series).svg(width: 640, height: 360))
            #expect(document.texts.contains("no data"))
            #expect(document.elements(withClass: "series-line").isEmpty)
            #expect(document.elements(withClass: "tick").isEmpty)
        }
    }

    @Test("a single point renders as a dot with a padded axis")
    func singlePoint() throws {
        let chart = LineChart(title: "One eval", series: [Series(name: "a", points: [(x: 3, y: 0.9)])])
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        #expect(document.elements(withClass: "series-line").isEmpty)
        #expect(document.elements(withClass: "series-point").count == 1)
        #expect(document.elements(withClass: "tick").count >= 4)
        #expect(!document.texts.contains("no data"))
    }

    @Test("NaN and infinite points are skipped and split the line into segments")
    func gaps() throws {
        let points: [(x: Double, y: Double)] = [(0, 1), (1, 2), (2, .nan), (3, 4), (4, 5), (.infinity, 6), (6, 7)]
        let document = try SVGDocument(LineChart(title: "Gaps", series: [Series(name: "a", points: points)])
            .svg(width: 640, height: 360))
        let paths = document.elements(withClass: "series-line").compactMap { $0.attributes["d"] }
        #expect(paths.count == 2)
        #expect(paths.allSatisfy { $0.filter { $0 == "M" }.count == 1 && $0.filter { $0 == "L" }.count == 1 })
        // The lone (6, 7) is drawn as a dot.
        #expect(document.elements(withClass: "series-point").count == 1)
    }

    @Test("on a log y axis non-positive values are skipped and split the line")
    func logSkipsNonPositive() throws {
        let points: [(x: Double, y: Double)] = [(1, 1), (2, 0), (3, 10), (4, 100), (5, -3), (6, 1000)]
        let chart = LineChart(title: "Log", series: [Series(name: "a", points: points)], yScale: .log)
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        #expect(document.elements(withClass: "series-line").count == 1)
        #expect(document.elements(withClass: "series-point").count == 2)
        let ticks = document.elements(withClass: "tick").map(\.text)
        for label in ["1", "10", "100", "1k"] { #expect(ticks.contains(label)) }
        #expect(!ticks.contains("0"))
    }

    @Test("a legend only when more than one series is listed")
    func legend() throws {
        let single = try SVGDocument(LineChart(title: "t", series: [Self.curve]).svg(width: 640, height: 360))
        #expect(single.elements(withClass: "legend").isEmpty)
        let pair = Series.rawAndSmoothed(name: "loss", xs: [0, 1, 2, 3], ys: [1, 0.5, 0.7, 0.2],
                                         color: Palette.color(2))
        let smoothed = try SVGDocument(LineChart(title: "t", series: pair).svg(width: 640, height: 360))
        #expect(smoothed.elements(withClass: "legend").isEmpty)
        #expect(smoothed.elements(withClass: "series-line").count == 2)
        #expect(smoothed.elements(withClass: "series-line")[0].attributes["stroke-opacity"] == "0.3")
        let two = try SVGDocument(LineChart(title: "t", series: pair + [Self.curve]).svg(width: 640, height: 360))
        #expect(two.elements(withClass: "legend").map(\.text) == ["loss", "seq_bn"])
    }

    @Test("all-equal values still give an axis around them")
    func flat() throws {
        let chart = LineChart(title: "Flat", series: [Series(name: "a", xs: [0, 1, 2], ys: [0.5, 0.5, 0.5])])
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        #expect(document.elements(withClass: "series-line").count == 1)
        let labels = document.elements(withClass: "tick").map(\.text)
        #expect(labels.contains("0.50"))
    }
}
