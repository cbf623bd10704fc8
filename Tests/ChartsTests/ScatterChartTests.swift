import Charts
import Testing

@Suite("Scatter chart")
struct ScatterChartTests {
    static let methods = [
        ScatterSeries(name: "seq_bn",
                      points: [ErrorPoint(x: 894_000, y: 0.861, low: 0.85, high: 0.87, label: "seq_bn")]),
        ScatterSeries(name: "lora", points: [ErrorPoint(x: 295_000, y: 0.842, low: 0.83, high: 0.85, label: "lora")]),
        ScatterSeries(name: "full", points: [ErrorPoint(x: 124_000_000, y: 0.874, label: "full")]),
    ]

    @Test("points, error bars, labels and a log x axis")
    func basic() throws {
        let chart = ScatterChart(title: "Accuracy vs parameters", xLabel: "trainable parameters", yLabel: "accuracy",
                                 series: Self.methods, yStyle: .percent)
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        #expect(document.elements(withClass: "series-point").count == 3)
        #expect(document.elements(withClass: "error-bar").count == 2)
        #expect(document.elements(withClass: "point-label").map(\.text) == ["seq_bn", "lora", "full"])
        let ticks = document.elements(withClass: "tick").map(\.text)
        for label in ["100k", "1M", "10M", "100M", "1G"] { #expect(ticks.contains(label)) }
        #expect(ticks.contains { $0.hasSuffix("%") })
        #expect(document.elements(withClass: "legend").count == 3)
    }

    @Test("non-positive x on the log axis and NaN y are skipped")
    func skipped() throws {
        let series = ScatterSeries(name: "a", points: [ErrorPoint(x: 0, y: 1), ErrorPoint(x: -5, y: 2),
                                                       ErrorPoint(x: 10, y: .nan), ErrorPoint(x: 100, y: 3)])
        let document = try SVGDocument(ScatterChart(title: "s", series: [series]).svg(width: 640, height: 360))
        #expect(document.elements(withClass: "series-point").count == 1)
        #expect(document.elements(withClass: "legend").isEmpty)
    }

    @Test("empty and single-point charts")
    func emptyAndSingle() throws {
        let empty = try SVGDocument(ScatterChart(title: "e", series: [ScatterSeries(name: "a", points: [])])
            .svg(width: 640, height: 360))
        #expect(empty.texts.contains("no data"))
        let single = try SVGDocument(ScatterChart(title: "s", series: [
            ScatterSeries(name: "a", points: [ErrorPoint(x: 10, y: 0.5, low: 0.5, high: 0.5)]),
        ]).svg(width: 640, height: 360))
        #expect(single.elements(withClass: "series-point").count == 1)
        #expect(single.elements(withClass: "tick").count >= 4)
    }
}
