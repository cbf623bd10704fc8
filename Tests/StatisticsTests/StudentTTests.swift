import Foundation
import Statistics
import Testing

@Suite("Student's t")
struct StudentTTests {
    @Test("quantile matches scipy.stats.t.ppf", arguments: try Reference.load().t_quantiles)
    func quantile(reference: Reference.TQuantile) throws {
        let t = try StudentT.quantile(reference.p, degreesOfFreedom: reference.df)
        if reference.ppf == 0 {
            #expect(t == 0)
        } else {
            #expect(isClose(t, reference.ppf, relative: 1e-11), "\(t) vs \(reference.ppf)")
        }
    }

    @Test("cdf matches scipy.stats.t.cdf", arguments: try Reference.load().t_cdf)
    func cdf(reference: Reference.TCDF) throws {
        let p = try StudentT.cdf(reference.t, degreesOfFreedom: reference.df)
        #expect(isClose(p, reference.cdf, relative: 1e-12), "\(p) vs \(reference.cdf)")
    }

    @Test("quantile inverts the cdf far into the tails", arguments: [1.0, 3.0, 40.0], [1e-12, 0.3, 0.999])
    func roundTrip(df: Double, p: Double) throws {
        let t = try StudentT.quantile(p, degreesOfFreedom: df)
        #expect(isClose(try StudentT.cdf(t, degreesOfFreedom: df), p, relative: 1e-11))
    }

    @Test("df = 1 is the Cauchy distribution: t = tan(π(p − ½))")
    func cauchy() throws {
        for p in [0.6, 0.9, 0.975, 0.99] {
            let expected = tan(Double.pi * (p - 0.5))
            #expect(isClose(try StudentT.quantile(p, degreesOfFreedom: 1), expected, relative: 1e-12))
        }
    }

    @Test("invalid arguments throw")
    func invalid() {
        #expect(throws: StatisticsError.invalidArgument(name: "p", value: 0)) {
            try StudentT.quantile(0, degreesOfFreedom: 3)
        }
        #expect(throws: StatisticsError.invalidArgument(name: "p", value: 1)) {
            try StudentT.quantile(1, degreesOfFreedom: 3)
        }
        #expect(throws: StatisticsError.invalidArgument(name: "degreesOfFreedom", value: 0)) {
            try StudentT.quantile(0.9, degreesOfFreedom: 0)
        }
        #expect(throws: StatisticsError.self) { try StudentT.quantile(.nan, degreesOfFreedom: 3) }
        #expect(throws: StatisticsError.self) { try StudentT.cdf(.nan, degreesOfFreedom: 3) }
        #expect(throws: StatisticsError.self) { try StudentT.cdf(1, degreesOfFreedom: .infinity) }
    }
}
