@testable import Charts
import Testing

@Suite("Number formatting")
struct FormatTests {
    @Test("values print at the step's resolution with SI prefixes",
          arguments: [
              (0.30000000000000004, 0.1, NumberStyle.plain, "0.3"),
              (3.0, 1.0, .plain, "3"),
              (1.0, 0.2, .plain, "1.0"),
              (-2.0, 1.0, .plain, "−2"),
              (1500.0, 500.0, .si, "1.5k"),
              (2_000_000.0, 1_000_000.0, .si, "2M"),
              (124_000_000.0, 1_000_000.0, .si, "124M"),
              (3e9, 1e9, .si, "3G"),
              (500.0, 500.0, .si, "500"),
              (0.002, 0.001, .si, "2m"),
              (2e-5, 1e-5, .si, "20µ"),
              (0.05, 0.01, .si, "0.05"),
              (0.0, 0.5, .si, "0.0"),
              (0.25, 0.05, .percent, "25%"),
              (0.125, 0.005, .percent, "12.5%"),
              (0.7, 0.1, .percent, "70%"),
              (-0.0000001, 0.1, .plain, "0.0"),
          ])
    func format(value: Double, step: Double, style: NumberStyle, expected: String) {
        #expect(Ticks.format(value, step: step, style: style) == expected)
    }

    @Test("axis labels share decimals; small prefixes are shared by the whole axis")
    func labels() {
        #expect(Ticks.labels(for: [0, 0.2, 0.4, 0.6, 0.8, 1], scale: .linear, style: .plain)
            == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(Ticks.labels(for: [0, 1000, 2000, 3000], scale: .linear) == ["0", "1k", "2k", "3k"])
        #expect(Ticks.labels(for: [0, 0.001, 0.002], scale: .linear) == ["0", "1m", "2m"])
        #expect(Ticks.labels(for: [0, 0.25, 0.5], scale: .linear, style: .percent) == ["0%", "25%", "50%"])
        #expect(Ticks.labels(for: [1, 10, 100, 1000, 1e4, 1e5, 1e6], scale: .log)
            == ["1", "10", "100", "1k", "10k", "100k", "1M"])
        #expect(Ticks.labels(for: [2, 5, 10, 20, 50], scale: .log) == ["2", "5", "10", "20", "50"])
        #expect(Ticks.labels(for: [1e-5, 1e-4, 1e-3], scale: .log) == ["10µ", "100µ", "1m"])
    }

    @Test("label formats for bars and cells")
    func labelFormats() {
        #expect(LabelFormat.percent.string(0.8412) == "84.1%")
        #expect(LabelFormat.percent.string(0.84) == "84.0%")
        #expect(LabelFormat.significant(3).string(0.8412) == "0.841")
        #expect(LabelFormat.significant(3).string(1_234_567) == "1.23M")
        #expect(LabelFormat.decimals(2).string(-0.5) == "−0.50")
        #expect(LabelFormat.decimals(1, style: .si).string(1_234_567) == "1.2M")
        #expect(LabelFormat.significant(2).string(.nan) == "")
    }

    @Test("SVG coordinates have at most two decimals and no negative zero")
    func coordinates() {
        #expect(svgNumber(1.0 / 3.0) == "0.33")
        #expect(svgNumber(2) == "2")
        #expect(svgNumber(-0.001) == "0")
        #expect(svgNumber(-12.345) == "-12.35" || svgNumber(-12.345) == "-12.34")
        #expect(svgNumber(.nan) == "0")
    }

    @Test("XML escaping covers markup characters and forbidden controls")
    func escaping() {
        #expect(XMLText.escape("a<b & \"c\" > 'd'") == "a&lt;b &amp; &quot;c&quot; &gt; &#39;d&#39;")
        #expect(XMLText.escape("x\u{1}y") == "x y")
        #expect(XMLText.escape("µ − ✓") == "µ − ✓")
    }
}
