import Foundation
import Testing

/// The scipy reference values written by `tools/make_statistics_fixtures.py`.
///
/// Located from this source file (`#filePath`), so any package that compiles the tests finds them.
struct Reference: Decodable {
    static let url: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // StatisticsTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/statistics/reference.json")

    struct TQuantile: Decodable, Sendable, CustomTestStringConvertible {
        var p: Double
        var df: Double
        var ppf: Double
        var testDescription: String { "p \(p), df \(df)" }
    }

    struct TCDF: Decodable, Sendable, CustomTestStringConvertible {
        var t: Double
        var df: Double
        var cdf: Double
        var testDescription: String { "t \(t), df \(df)" }
    }

    struct SummaryCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var values: [Double]
        var confidence: Double
        var mean: Double
        var std: Double
        var sem: Double
        var ci: [Double]?
        var testDescription: String { name }
    }

    struct McNemarCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var a: String
        var b: String
        var b01: Int
        var b10: Int
        var exact_p: Double
        var chi2: Double
        var chi2_p: Double
        var testDescription: String { name }

        var correctA: [Bool] { a.map { $0 == "1" } }
        var correctB: [Bool] { b.map { $0 == "1" } }
    }

    var scipy: String
    var t_quantiles: [TQuantile]
    var t_cdf: [TCDF]
    var summaries: [SummaryCase]
    var mcnemar: [McNemarCase]

    static func load() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }
}

/// |actual − expected| ≤ tolerance · max(|expected|, tiny): a relative comparison that still works at 0.
func isClose(_ actual: Double, _ expected: Double, relative tolerance: Double) -> Bool {
    abs(actual - expected) <= tolerance * max(abs(expected), 1e-300)
}
