import Charts
import Testing

@Suite("Scales and domains")
struct ScaleTests {
    @Test("a log domain skips non-positive and non-finite values")
    func logSkips() throws {
        let domain = try #require(AxisDomain(covering: [-1, 0, .nan, 10, 900, .infinity], scale: .log))
        #expect(domain.lower == 10 && domain.upper == 1000)
        #expect(domain.ticks == [10, 20, 50, 100, 200, 500, 1000])
        #expect(AxisDomain(covering: [-1, 0], scale: .log) == nil)
        #expect(AxisDomain(covering: [], scale: .linear) == nil)
    }

    @Test("the ticks are the domain's ends and fractions map onto 0…1")
    func fractions() throws {
        let linear = try #require(AxisDomain(covering: [0.13, 0.87], scale: .linear))
        #expect(linear.lower == linear.ticks.first && linear.upper == linear.ticks.last)
        #expect(linear.fraction(linear.lower) == 0 && linear.fraction(linear.upper) == 1)
        let log = try #require(AxisDomain(covering: [1, 1e4], scale: .log))
        #expect(abs(log.fraction(100) - 0.5) < 1e-12)
    }

    @Test("bar domains include zero; all-equal values still get a range")
    func includeZeroAndFlat() throws {
        let bars = try #require(AxisDomain(covering: [0.8, 0.9], scale: .linear, includeZero: true))
        #expect(bars.lower == 0)
        let flat = try #require(AxisDomain(covering: [0.5, 0.5, 0.5], scale: .linear))
        #expect(flat.lower < 0.5 && flat.upper > 0.5)
        let flatLog = try #require(AxisDomain(covering: [100], scale: .log))
        #expect(flatLog.lower < 100 && flatLog.upper > 100)
    }

    @Test("Scale.accepts")
    func accepts() {
        #expect(Scale.linear.accepts(-1) && !Scale.linear.accepts(.nan))
        #expect(!Scale.log.accepts(0) && !Scale.log.accepts(-1) && Scale.log.accepts(1e-300))
    }

    @Test("the palette cycles through the eight Okabe–Ito colours")
    func palette() {
        #expect(Palette.color(0) == "#0072B2")
        #expect(Palette.color(7) == "#000000")
        #expect(Palette.color(8) == Palette.color(0))
        #expect(Palette.color(-1) == "#000000")
        #expect(Set(Palette.colors).count == 8)
    }

    @Test("EMA and moving average keep gaps")
    func smoothing() {
        #expect(Smoothing.ema([0, 2, 4], alpha: 0.5) == [0, 1, 2.5])
        let gapped = Smoothing.ema([.nan, 2, .nan, 4], alpha: 0.5)
        #expect(gapped[0].isNaN && gapped[2].isNaN && gapped[1] == 2 && gapped[3] == 3)
        #expect(Smoothing.movingAverage([1, 2, 3, 4], window: 2) == [1, 1.5, 2.5, 3.5])
        #expect(Smoothing.movingAverage([1, .nan, 3], window: 3)[2] == 2)
    }
}
