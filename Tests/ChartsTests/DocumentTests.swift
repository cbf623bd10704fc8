import Charts
import Foundation
import Testing

/// Properties every chart kind shares: accessibility, scalability, escaping, precision, determinism.
@Suite("SVG documents")
struct DocumentTests {
    static let awkward = "a<b & \"c\" > 'd'"

    static func charts(title: String = "Comparison", name: String = "seq_bn") throws -> [any Chart] {
        [
            LineChart(title: title, xLabel: "step", yLabel: "loss",
                      series: [Series(name: name, xs: [0, 1, 2], ys: [1, 0.7, 0.4]),
                               Series(name: "lora", xs: [0, 1, 2], ys: [1.1, 0.8, 0.6])]),
            ScatterChart(title: title, series: [
                ScatterSeries(name: name, points: [ErrorPoint(x: 1e5, y: 0.8, low: 0.78, high: 0.82, label: name)]),
                ScatterSeries(name: "lora", points: [ErrorPoint(x: 3e6, y: 0.84)]),
            ]),
            try BarChart(title: title, categories: [name, "lora"],
                         series: [BarSeries(name: name, values: [0.81, 0.84]), BarSeries(name: "b", values: [1, 2])]),
            try Heatmap(title: title, rowLabels: [name, "b"], columnLabels: [name, "b"], counts: [[5, 1], [2, 7]]),
        ]
    }

    @Test("each kind is scalable, accessible and titled", arguments: 0..<4)
    func root(kind: Int) throws {
        let chart = try Self.charts()[kind]
        let document = try SVGDocument(chart.svg(width: 640, height: 360))
        let root = try #require(document.root)
        #expect(root.name == "svg")
        #expect(root.attributes["viewBox"] == "0 0 640 360")
        #expect(root.attributes["width"] == "100%")
        #expect(root.attributes["height"] == nil)
        #expect(root.attributes["role"] == "img")
        #expect(root.attributes["aria-label"] == "Comparison")
        #expect(root.cssClasses.contains("chart"))
        #expect(document.elements(named: "title").first?.text == "Comparison")
        #expect(document.elements(withClass: "chart-title").map(\.text) == ["Comparison"])
        #expect(document.elements(named: "script").isEmpty)
        #expect(!chart.svg(width: 640, height: 360).contains("href"))
    }

    @Test("text is never smaller than 12 units at 640 wide and every text has a class", arguments: 0..<4)
    func legibility(kind: Int) throws {
        let document = try SVGDocument(Self.charts()[kind].svg(width: 640, height: 360))
        let texts = document.elements(named: "text")
        #expect(!texts.isEmpty)
        for text in texts {
            #expect((Double(text.attributes["font-size"] ?? "") ?? 0) >= 12, "\(text.text)")
            #expect(!text.cssClasses.isEmpty)
        }
    }

    @Test("labels with markup characters are escaped and survive parsing", arguments: 0..<4)
    func escaping(kind: Int) throws {
        let svg = try Self.charts(title: Self.awkward, name: Self.awkward)[kind].svg(width: 640, height: 360)
        #expect(svg.contains("a&lt;b &amp; &quot;c&quot; &gt; &#39;d&#39;"))
        #expect(!svg.contains(Self.awkward))
        let document = try SVGDocument(svg)
        #expect(document.root?.attributes["aria-label"] == Self.awkward)
        #expect(document.texts.contains(Self.awkward))
    }

    @Test("coordinates carry at most two decimals", arguments: 0..<4)
    func precision(kind: Int) throws {
        let document = try SVGDocument(Self.charts()[kind].svg(width: 640, height: 360))
        let numeric = ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height"]
        for element in document.elements.dropFirst() {
            for name in numeric {
                guard let value = element.attributes[name] else { continue }
                #expect(value.range(of: #"^-?\d+(\.\d{1,2})?$"#, options: .regularExpression) != nil,
                        "\(element.name) \(name)=\(value)")
            }
            if let path = element.attributes["d"] {
                #expect(path.range(of: #"\d\.\d{3}"#, options: .regularExpression) == nil, "\(path)")
            }
        }
    }

    @Test("the same input gives byte-identical SVG", arguments: 0..<4)
    func determinism(kind: Int) throws {
        let first = try Self.charts()[kind].svg(width: 640, height: 360)
        let second = try Self.charts()[kind].svg(width: 640, height: 360)
        #expect(first == second)
        #expect(first == (try Self.charts()[kind].svg()))
        #expect(first != (try Self.charts()[kind].svg(width: 641, height: 360)))
    }

    @Test("narrow and tiny sizes still give well-formed SVG", arguments: [(320, 240), (1, 1), (1280, 200)])
    func sizes(width: Int, height: Int) throws {
        for chart in try Self.charts() {
            _ = try SVGDocument(chart.svg(width: width, height: height))
        }
    }

    @Test("the stylesheet sizes every text class and enlarges them on narrow pages")
    func stylesheet() {
        let css = Charts.stylesheet
        #expect(css.contains("@media (max-width: 600px)"))
        for cssClass in ["chart-title", "axis-label", "tick", "legend", "bar-label", "point-label", "cell-label"] {
            #expect(css.components(separatedBy: ".\(cssClass)").count == 3, "\(cssClass)")
        }
        #expect(css.contains(".chart {") && css.contains("width: 100%"))
    }
}
