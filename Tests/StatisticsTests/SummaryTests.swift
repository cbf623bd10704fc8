import Statistics
import Testing

@Suite("Summary")
struct SummaryTests {
    @Test("mean, std(ddof=1), sem and t interval match numpy/scipy", arguments: try Reference.load().summaries)
    func matchesScipy(reference: Reference.SummaryCase) throws {
        let summary = try Summary(values: reference.values, confidence: reference.confidence)
        #expect(summary.count == reference.values.count)
        #expect(isClose(summary.mean, reference.mean, relative: 1e-14))
        #expect(isClose(summary.standardDeviation, reference.std, relative: 1e-9))
        #expect(isClose(summary.standardError, reference.sem, relative: 1e-9))
        #expect(summary.confidence == reference.confidence)
        if let ci = reference.ci {
            let interval = try #require(summary.interval)
            // Relative to the half-width: the bounds themselves can sit at a large offset.
            let halfWidth = max((ci[1] - ci[0]) / 2, 1e-300)
            #expect(abs(interval.lowerBound - ci[0]) <= 1e-9 * halfWidth + 1e-15 * abs(ci[0]))
            #expect(abs(interval.upperBound - ci[1]) <= 1e-9 * halfWidth + 1e-15 * abs(ci[1]))
        } else {
            #expect(summary.interval == nil)
        }
    }

    @Test("a single value has zero spread and no interval")
    func single() throws {
        let summary = try Summary(values: [0.75])
        #expect(summary.count == 1)
        #expect(summary.mean == 0.75)
        #expect(summary.standardDeviation == 0)
        #expect(summary.standardError == 0)
        #expect(summary.interval == nil)
    }

    @Test("two seeds use t₀.₉₇₅,₁ = 12.706…, not 1.96")
    func twoSeeds() throws {
        let summary = try Summary(values: [1, 3])
        let interval = try #require(summary.interval)
        // sd = √2, se = 1, t = 12.706204736174705 (scipy).
        #expect(isClose(interval.upperBound - 2, 12.706204736174705, relative: 1e-12))
    }

    @Test("empty, non-finite and bad confidence are refused")
    func errors() {
        #expect(throws: StatisticsError.empty(what: "values")) { try Summary(values: []) }
        #expect(throws: StatisticsError.nonFinite(what: "values", index: 1)) { try Summary(values: [1, .nan, 2]) }
        #expect(throws: StatisticsError.nonFinite(what: "values", index: 0)) { try Summary(values: [.infinity]) }
        #expect(throws: StatisticsError.invalidArgument(name: "confidence", value: 1)) {
            try Summary(values: [1, 2], confidence: 1)
        }
    }
}
