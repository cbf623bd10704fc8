import Charts
import Testing

@Suite("Bar chart")
struct BarChartTests {
    static let categories = ["seq_bn", "lora", "full"]

    @Test("grouped bars with value labels and whiskers")
    func grouped() throws {
        let chart = try BarChart(title: "Accuracy", categoryLabel: "method", valueLabel: "accuracy",
                                 categories: Self.categories,
                                 series: [BarSeries(name: "rt", bars: [BarValue(0.861, low: 0.85, high: 0.87),
                                                                       BarValue(0.842), BarValue(0.874)]),
                                          BarSeries(name: "sst2", values: [0.91, 0.9, 0.93])],
                                 style: .percent, valueLabels: .percent)
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        let bars = document.elements(withClass: "bar")
        #expect(bars.count == 6)
        #expect(bars.allSatisfy { Double($0.attributes["height"] ?? "") ?? 0 > 0 })
        #expect(document.elements(withClass: "whisker").count == 1)
        #expect(document.elements(withClass: "bar-label").map(\.text)
            == ["86.1%", "84.2%", "87.4%", "91.0%", "90.0%", "93.0%"])
        #expect(document.elements(withClass: "legend").map(\.text) == ["rt", "sst2"])
        let ticks = document.elements(withClass: "tick").map(\.text)
        #expect(ticks.contains("0%") && ticks.contains("seq_bn"))
    }

    @Test("a log value axis draws only positive bars from the axis floor")
    func logAxis() throws {
        let chart = try BarChart(title: "Trainable parameters", categories: Self.categories,
                                 series: [BarSeries(name: "params", values: [894_000, 0, 124_000_000])], scale: .log)
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        #expect(document.elements(withClass: "bar").count == 2)
        #expect(document.elements(withClass: "bar-label").map(\.text) == ["894k", "124M"])
        #expect(document.elements(withClass: "legend").isEmpty)
    }

    @Test("negative values hang below zero")
    func negative() throws {
        let chart = try BarChart(title: "Δ", categories: ["a", "b"],
                                 series: [BarSeries(name: "d", values: [0.5, -0.25])])
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        let bars = document.elements(withClass: "bar")
        let tops = bars.compactMap { Double($0.attributes["y"] ?? "") }
        #expect(tops.count == 2 && tops[1] > tops[0])
        #expect(document.elements(withClass: "tick").map(\.text).contains("0.0"))
    }

    @Test("a series whose length differs from the categories is refused")
    func mismatch() {
        #expect(throws: ChartError.lengthMismatch(what: "bars of x", expected: 3, actual: 2)) {
            try BarChart(title: "t", categories: Self.categories, series: [BarSeries(name: "x", values: [1, 2])])
        }
    }

    @Test("no categories or no drawable value shows \"no data\"")
    func empty() throws {
        let none = try BarChart(title: "t", categories: [], series: [])
        #expect(try SVGDocument(none.svg(width: 640, height: 360)).texts.contains("no data"))
        let nan = try BarChart(title: "t", categories: ["a"], series: [BarSeries(name: "x", values: [.nan])])
        #expect(try SVGDocument(nan.svg(width: 640, height: 360)).texts.contains("no data"))
    }

    @Test("long category names rotate instead of overlapping")
    func rotation() throws {
        let names = (0..<8).map { "double_seq_bn_variant_\($0)" }
        let chart = try BarChart(title: "t", categories: names,
                                 series: [BarSeries(name: "x", values: (0..<8).map { Double($0) + 1 })])
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        let labels = document.elements(withClass: "tick").filter { names.contains($0.text) }
        #expect(labels.count == 8)
        #expect(labels.allSatisfy { $0.attributes["transform"]?.hasPrefix("rotate(-35") == true })
    }
}
