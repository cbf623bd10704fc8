import Foundation
import TestSupport
import Testing
import Training

/// The evaluation metrics of regression, multi-label and tagging heads against their Python references
/// (tools/make_metric_fixtures.py: scipy 1.17.1, scikit-learn 1.9.1, seqeval 1.2.2).
@Suite("Task metrics against scipy, scikit-learn and seqeval")
struct TaskMetricsTests {
    static func reference() throws -> [String: Any] { try Fixtures.json("statistics/task_metrics.json") }

    static func doubles(_ v: Any?) -> [Double] { (v as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue } }

    @Test func correlationsMatchScipy() throws {
        let cases = try Self.reference()["correlations"] as? [[String: Any]] ?? []
        #expect(cases.count >= 6)
        for c in cases {
            let x = Self.doubles(c["x"])
            let y = Self.doubles(c["y"])
            let pearson = (c["pearson"] as? NSNumber)?.doubleValue ?? .nan
            let spearman = (c["spearman"] as? NSNumber)?.doubleValue ?? .nan
            #expect(abs(MetricMath.pearson(x, y) - pearson) < 1e-12, "pearson of \(x.count)")
            #expect(abs(MetricMath.spearman(x, y) - spearman) < 1e-12, "spearman of \(x.count)")
        }
    }

    @Test func multilabelScoresMatchScikitLearn() throws {
        let cases = try Self.reference()["multilabel"] as? [[String: Any]] ?? []
        #expect(cases.count >= 4)
        for c in cases {
            let labels = c["labels"] as? Int ?? 0
            let truth = (c["truth"] as? [[Int]] ?? []).flatMap { $0.map { $0 == 1 } }
            let predicted = (c["predicted"] as? [[Int]] ?? []).flatMap { $0.map { $0 == 1 } }
            let s = MetricMath.multilabelScores(predicted: predicted, truth: truth, labels: labels)
            #expect(abs(s.micro - ((c["micro_f1"] as? NSNumber)?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs(s.macro - ((c["macro_f1"] as? NSNumber)?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs(s.subset - ((c["subset_accuracy"] as? NSNumber)?.doubleValue ?? .nan)) < 1e-12)
        }
    }

    @Test func entitiesAreReadAsSeqevalReadsThem() throws {
        let cases = try Self.reference()["entities"] as? [[String: Any]] ?? []
        #expect(cases.count >= 20)
        for c in cases {
            let tags = c["tags"] as? [String] ?? []
            let expected = (c["entities"] as? [[Any]] ?? []).map {
                MetricMath.Entity(type: $0[0] as? String ?? "", start: $0[1] as? Int ?? -1, end: $0[2] as? Int ?? -1)
            }
            #expect(MetricMath.entities(tags) == expected, "\(tags)")
        }
    }

    @Test func entityScoresMatchSeqeval() throws {
        let cases = try Self.reference()["tagging"] as? [[String: Any]] ?? []
        #expect(cases.count >= 4)
        for c in cases {
            let s = MetricMath.entityScores(
                truth: c["truth"] as? [[String]] ?? [], predicted: c["predicted"] as? [[String]] ?? [])
            #expect(abs(s.precision - ((c["precision"] as? NSNumber)?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs(s.recall - ((c["recall"] as? NSNumber)?.doubleValue ?? .nan)) < 1e-12)
            #expect(abs(s.f1 - ((c["f1"] as? NSNumber)?.doubleValue ?? .nan)) < 1e-12)
        }
    }
}
