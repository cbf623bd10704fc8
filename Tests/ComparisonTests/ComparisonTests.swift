@testable import Comparison
import Foundation
import Testing

/// The sweep's plan, the learning-rate choice and the statistics on runs made up here (the end-to-end
/// check on real runs is CLITests' CompareCLITests).
@Suite("Comparison")
struct ComparisonTests {
    static func settings(methods: [ComparedMethod] = [.seqBn, .full], seeds: [UInt64] = [1, 2, 3]) -> ComparisonSettings {
        ComparisonSettings(
            model: "m", train: "t.jsonl", eval: "e.jsonl", test: "x.jsonl", methods: methods,
            learningRates: [.seqBn: [3e-4, 1e-4], .full: [2e-5]], seeds: seeds, epochs: 1, bootstrapResamples: 500)
    }

    /// A finished, tested run: `evalAccuracy` is its last evaluation, `correct` which of 20 test examples
    /// it gets right.
    static func record(_ spec: RunSpec, evalAccuracy: Double, correct: Set<Int>, trainable: Int = 100) -> RunRecord {
        let labels = (0..<20).map { $0 % 2 == 0 ? "neg" : "pos" }
        let predictions = labels.enumerated().map { i, y in correct.contains(i) ? y : (y == "neg" ? "pos" : "neg") }
        return RunRecord(
            folder: URL(fileURLWithPath: "/runs/\(spec.name)"),
            summary: .init(
                method: spec.method.rawValue, steps: 10, trainSeconds: 5, samplesPerSecond: 30, trainableParameters: trainable,
                totalParameters: 1000, savedBytes: 4000, peakRSSBytes: 1 << 20, learningRate: spec.learningRate, seed: spec.seed,
                labels: ["neg", "pos"], saved: "", evalAccuracy: evalAccuracy),
            train: [.init(step: 5, epoch: 0.5, loss: 0.7, learningRate: 1e-4, gradNorm: 1, elapsedSeconds: 2),
                    .init(step: 10, epoch: 1, loss: 0.5, learningRate: 0, gradNorm: 1, elapsedSeconds: 4)],
            eval: [.init(step: 5, accuracy: evalAccuracy - 0.1, loss: 0.7, macroF1: 0.5, elapsedSeconds: 2.5),
                   .init(step: 10, accuracy: evalAccuracy, loss: 0.6, macroF1: 0.6, elapsedSeconds: 4.5)],
            test: .init(accuracy: Double(correct.count) / 20, macroF1: 0.5, loss: 0.6, examples: 20, samplesPerSecond: 100,
                        labels: labels, predictions: predictions))
    }

    @Test func learningRatesAreWrittenAsPeopleWriteThem() {
        #expect(LearningRateText.format(3e-4) == "3e-4")
        #expect(LearningRateText.format(2.5e-5) == "2.5e-5")
        #expect(LearningRateText.format(0.1) == "1e-1")
        #expect(LearningRateText.format(1e-3) == "1e-3")
        #expect(RunSpec(method: .lora, learningRate: 3e-4, seed: 42).name == "lora-lr3e-4-s42")
        #expect(LearningRateText.parse("3e-4") == 3e-4)
        #expect(LearningRateText.parse("x") == nil)
    }

    @Test func thePlanCoversEveryMethodRateAndSeedOnce() throws {
        let s = Self.settings()
        #expect(s.learningRates(for: .seqBn) == [1e-4, 3e-4])
        #expect(s.runs.count == 2 * 3 + 1 * 3)
        #expect(Set(s.runs.map(\.name)).count == s.runs.count)
        #expect(ComparisonSettings(model: "m", train: "t", eval: "e", test: nil, methods: [.head]).learningRates(for: .head)
            == [1e-3, 3e-3, 1e-2])
    }

    @Test(arguments: [
        (ComparisonSettings(model: "m", train: "t", eval: "e", test: nil, methods: []), "no methods"),
        (ComparisonSettings(model: "m", train: "t", eval: "e", test: nil, methods: [.lora], seeds: []), "no seeds"),
        (ComparisonSettings(model: "m", train: "t", eval: "e", test: nil, methods: [.lora], learningRates: [.lora: [-1]]),
         "learning rate -1.0 for lora"),
        (ComparisonSettings(model: "m", train: "t", eval: "e", test: nil, methods: [.lora], seeds: [1, 1]), "a seed is listed twice"),
    ])
    func badSettingsAreNamed(settings: ComparisonSettings, detail: String) {
        #expect(throws: ComparisonError.invalidSettings(detail)) { try settings.validate() }
    }

    @Test func aResumeNeedsTheSameStepBudgetAndData() {
        let s = Self.settings()
        var t = s
        t.seeds = [1, 2, 3, 4]
        #expect(s.incompatibility(with: t) == nil, "more seeds can resume")
        t.epochs = 2
        t.train = "other.jsonl"
        #expect(s.incompatibility(with: t) == "training or evaluation data, step budget")
    }

    /// The rate is picked on the evaluation set, even where the test set would have preferred the other.
    @Test func theLearningRateIsPickedOnEvaluationOnly() throws {
        let s = Self.settings(methods: [.seqBn])
        var records: [RunSpec: RunRecord] = [:]
        for spec in s.runs {
            let better = spec.learningRate == 1e-4
            // 1e-4: better on evaluation, worse on test.
            records[spec] = Self.record(spec, evalAccuracy: better ? 0.8 : 0.7, correct: Set(0..<(better ? 10 : 18)))
        }
        #expect(try ComparisonAnalysis.pickLearningRate(.seqBn, settings: s, records: records) == 1e-4)
        let r = try ComparisonAnalysis.analyze(settings: s, records: records, environment: .current(tool: "t"))
        #expect(r.methods[0].learningRate == 1e-4)
        #expect(r.methods[0].testAccuracy.mean == 0.5)
        #expect(zip(r.methods[0].sweep.map(\.evalAccuracy.mean), [0.8, 0.7]).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test func aTieGoesToTheSmallerRate() throws {
        let s = Self.settings(methods: [.seqBn])
        var records: [RunSpec: RunRecord] = [:]
        for spec in s.runs { records[spec] = Self.record(spec, evalAccuracy: 0.75, correct: Set(0..<15)) }
        #expect(try ComparisonAnalysis.pickLearningRate(.seqBn, settings: s, records: records) == 1e-4)
    }

    @Test func methodsAreRankedAndComparedOnTheSameExamples() throws {
        let s = Self.settings()
        var records: [RunSpec: RunRecord] = [:]
        for spec in s.runs {
            let full = spec.method == .full
            records[spec] = Self.record(
                spec, evalAccuracy: 0.8, correct: full ? Set(0..<19) : Set(0..<12), trainable: full ? 1000 : 10)
        }
        let r = try ComparisonAnalysis.analyze(settings: s, records: records, environment: .current(tool: "t"))
        #expect(r.methods.map(\.method) == [.full, .seqBn])
        let pair = try #require(r.comparisons.first)
        #expect(pair.method == .full && pair.baseline == .seqBn)
        #expect(abs(pair.difference - 0.35) < 1e-12)
        // 7 discordant pairs, all one way: exact McNemar p = 2 · 0.5⁷.
        #expect(pair.mcnemarPValues.values.allSatisfy { abs($0 - 2 / 128) < 1e-12 })
        #expect(pair.significant)
        #expect(r.methods[0].confusion == [[3 * 10, 0], [3, 3 * 9]])
        #expect(r.methods[1].trainablePercent == 1)
        #expect(r.answer.first?.hasPrefix("full is the most accurate on the test set: 95.0 %") == true)
        let md = ComparisonReport.markdown(r)
        #expect(md.contains("| full | 2e-5 | 95.0 % ± 0.0 % |"))
        let html = try ComparisonReport.html(r)
        #expect(html.components(separatedBy: "<figure class=\"figure\"").count == 1 + 8 + 2)
    }

    @Test func aMissingRunFileIsNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: ComparisonError.invalidRun(path: folder.appendingPathComponent("summary.json").path, detail: "no such file")) {
            try RunRecord(folder: folder)
        }
        try Data(#"{"method": "lora", "steps": 3, "trainable_parameters": 5}"#.utf8)
            .write(to: folder.appendingPathComponent("summary.json"))
        try Data("{\"step\": 1, \"loss\": 0.5}\nnot json\n".utf8).write(to: folder.appendingPathComponent("train_log.jsonl"))
        #expect(throws: ComparisonError.invalidRun(
            path: folder.appendingPathComponent("train_log.jsonl").path, detail: "line 2 is not a JSON object")) {
            try RunRecord(folder: folder)
        }
    }

    @Test func htmlEscapesText() {
        #expect(HTMLPage.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
    }
}
