import Statistics
import Testing

@Suite("McNemar")
struct McNemarTests {
    @Test("counts and p-values match scipy binomtest and chi2.sf", arguments: try Reference.load().mcnemar)
    func matchesScipy(reference: Reference.McNemarCase) throws {
        let result = try McNemar.test(a: reference.correctA, b: reference.correctB)
        #expect(result.count == reference.a.count)
        #expect(result.b01 == reference.b01)
        #expect(result.b10 == reference.b10)
        #expect(isClose(result.exactPValue, reference.exact_p, relative: 1e-10),
                "\(result.exactPValue) vs \(reference.exact_p)")
        #expect(isClose(result.chiSquare, reference.chi2, relative: 1e-14))
        #expect(isClose(result.chiSquarePValue, reference.chi2_p, relative: 1e-10),
                "\(result.chiSquarePValue) vs \(reference.chi2_p)")
    }

    @Test("the difference is accuracy(a) − accuracy(b)")
    func difference() throws {
        let result = try McNemar.test(a: [true, true, true, false], b: [true, false, false, false])
        #expect(result.b10 == 2 && result.b01 == 0)
        #expect(result.difference == 0.5)
        // Two discordant pairs, both one way: p = 2 · ½² = 0.5 exactly.
        #expect(result.exactPValue == 0.5)
    }

    @Test("mismatched or empty inputs throw")
    func errors() {
        #expect(throws: StatisticsError.lengthMismatch(a: 2, b: 3)) {
            try McNemar.test(a: [true, false], b: [true, false, true])
        }
        #expect(throws: StatisticsError.empty(what: "a")) { try McNemar.test(a: [], b: []) }
    }
}
