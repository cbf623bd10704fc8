@testable import Charts
import Foundation
import Testing

@Suite("Ticks")
struct TicksTests {
    @Test("0…1 gives 0, 0.2, …, 1 exactly (no float noise)")
    func unitRange() {
        #expect(Ticks.linear(min: 0, max: 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
    }

    @Test("0…7 gives steps of 2 up to 8")
    func zeroToSeven() {
        #expect(Ticks.linear(min: 0, max: 7) == [0, 2, 4, 6, 8])
    }

    @Test("0.1…0.3 steps of 0.05 are the decimal numbers themselves")
    func decimalSteps() {
        let ticks = Ticks.linear(min: 0.1, max: 0.3, target: 4)
        #expect(ticks == [0.1, 0.15, 0.2, 0.25, 0.3])
    }

    @Test("linear ticks cover the range with a 1-2-5 step",
          arguments: [(0.0, 1.0), (-3.2, 17.9), (0.0012, 0.0047), (840.0, 912.0), (-1e6, -2e5), (1e-9, 3e-9),
                      (83.2, 86.1), (0.0, 123_456_789.0)])
    func linearCovers(low: Double, high: Double) throws {
        let ticks = Ticks.linear(min: low, max: high, target: 5)
        let first = try #require(ticks.first)
        let last = try #require(ticks.last)
        #expect(first <= low && last >= high)
        #expect((3...7).contains(ticks.count), "\(ticks)")
        let step = ticks[1] - ticks[0]
        let mantissa = step / NumberText.powerOfTen(Int((log10(step) + 1e-9).rounded(.down)))
        #expect([1, 2, 5].contains { abs(mantissa - $0) < 1e-6 }, "step \(step)")
        for (a, b) in zip(ticks, ticks.dropFirst()) {
            #expect(abs((b - a) - step) <= 1e-9 * step)
        }
    }

    @Test("a zero-width range is widened around the value")
    func zeroWidth() throws {
        let ticks = Ticks.linear(min: 5, max: 5)
        #expect(try #require(ticks.first) < 5 && (try #require(ticks.last)) > 5)
        #expect(Ticks.linear(min: 0, max: 0).contains(0))
        #expect(Ticks.log(min: 10, max: 10) == [5, 10, 20])
        #expect(Ticks.linear(min: .nan, max: 1).isEmpty)
    }

    @Test("1…10⁶ on a log axis gives the decades")
    func logDecades() {
        #expect(Ticks.log(min: 1, max: 1e6) == [1, 10, 100, 1000, 1e4, 1e5, 1e6])
        #expect(Ticks.log(min: 0.002, max: 0.9) == [0.001, 0.01, 0.1, 1])
    }

    @Test("3…47 on a log axis is short and gets 2 and 5 subdivisions")
    func logSubdivisions() {
        #expect(Ticks.log(min: 3, max: 47) == [2, 5, 10, 20, 50])
        #expect(Ticks.log(min: 0.12, max: 0.9) == [0.1, 0.2, 0.5, 1])
    }

    @Test("very wide log ranges keep every other decade")
    func logThinned() {
        let ticks = Ticks.log(min: 1e-3, max: 1e12)
        #expect(ticks == [1e-3, 0.1, 10, 1e3, 1e5, 1e7, 1e9, 1e11, 1e13])
    }

    @Test("log ticks refuse non-positive bounds")
    func logRefuses() {
        #expect(Ticks.log(min: 0, max: 10).isEmpty)
        #expect(Ticks.log(min: -5, max: 10).isEmpty)
    }
}
