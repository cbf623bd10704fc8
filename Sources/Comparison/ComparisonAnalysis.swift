import Foundation
import Statistics

/// Turns the runs of a sweep into a `ComparisonResult`: each method's learning rate is picked on the
/// evaluation set only (mean final evaluation accuracy over seeds; ties go to the smaller rate), then the
/// picked runs' test metrics are summarised over seeds and compared on the same test examples.
public enum ComparisonAnalysis {
    public static func analyze(
        settings: ComparisonSettings, records: [RunSpec: RunRecord], environment: Environment
    ) throws -> ComparisonResult {
        var methods: [MethodResult] = []
        var correctness: [ComparedMethod: [[Bool]]] = [:]
        for method in settings.methods {
            let (result, perSeed) = try analyze(method, settings: settings, records: records)
            methods.append(result)
            correctness[method] = perSeed
        }
        methods.sort { ($0.testAccuracy.mean, $1.method) > ($1.testAccuracy.mean, $0.method) }
        var pairs: [PairResult] = []
        for (i, a) in methods.enumerated() {
            for b in methods[(i + 1)...] {
                pairs.append(try compare(a.method, b.method, correctness, seeds: settings.seeds, settings: settings))
            }
        }
        let result = ComparisonResult(
            settings: settings, environment: environment, reportedOn: settings.test == nil ? "eval" : "test",
            methods: methods, comparisons: pairs, answer: [])
        var answered = result
        answered.answer = answer(result)
        return answered
    }

    /// The learning rate with the best mean evaluation accuracy; the first (smallest) wins a tie.
    static func pick(_ sweep: [SweepPoint]) -> SweepPoint {
        var best = sweep[0]
        for p in sweep.dropFirst() where p.evalAccuracy.mean > best.evalAccuracy.mean { best = p }
        return best
    }

    /// The learning rate `analyze` will report for `method`, from the evaluation set alone (the test set is
    /// evaluated only for it).
    public static func pickLearningRate(
        _ method: ComparedMethod, settings: ComparisonSettings, records: [RunSpec: RunRecord]
    ) throws -> Double {
        pick(try sweep(method, settings: settings, records: records)).learningRate
    }

    static func sweep(_ method: ComparedMethod, settings: ComparisonSettings, records: [RunSpec: RunRecord]) throws
        -> [SweepPoint]
    {
        try settings.learningRates(for: method).map { lr in
            let accuracies = try settings.seeds.map { seed -> Double in
                let spec = RunSpec(method: method, learningRate: lr, seed: seed)
                guard let r = records[spec] else { throw ComparisonError.invalidSettings("run \(spec.name) has not finished") }
                guard let a = r.eval.last?.accuracy ?? r.summary.evalAccuracy else {
                    throw ComparisonError.invalidRun(path: r.folder.path, detail: "no evaluation (train with --eval)")
                }
                return a
            }
            return SweepPoint(learningRate: lr, evalAccuracy: try stat(accuracies))
        }
    }

    /// Mean, sample std and 95 % interval of `values` (n ≥ 1).
    public static func stat(_ values: [Double]) throws -> Stat {
        let s = try Summary(values: values)
        return Stat(mean: s.mean, std: s.standardDeviation, low: s.interval?.lowerBound, high: s.interval?.upperBound,
                    values: values)
    }

    static func analyze(
        _ method: ComparedMethod, settings: ComparisonSettings, records: [RunSpec: RunRecord]
    ) throws -> (MethodResult, [[Bool]]) {
        func record(_ spec: RunSpec) throws -> RunRecord {
            guard let r = records[spec] else { throw ComparisonError.invalidSettings("run \(spec.name) has not finished") }
            return r
        }
        let sweep = try sweep(method, settings: settings, records: records)
        let best = pick(sweep)
        let picked = try settings.seeds.map { try record(RunSpec(method: method, learningRate: best.learningRate, seed: $0)) }
        let tests = try picked.map { r -> RunRecord.Test in
            guard let t = r.test else {
                throw ComparisonError.invalidRun(path: r.folder.path, detail: "not evaluated on the test set yet")
            }
            return t
        }
        let labels = picked[0].summary.labels.isEmpty ? Array(Set(tests[0].labels)).sorted() : picked[0].summary.labels
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
        for t in tests {
            for (y, p) in zip(t.labels, t.predictions) {
                if let i = labels.firstIndex(of: y), let j = labels.firstIndex(of: p) { confusion[i][j] += 1 }
            }
        }
        guard Set(tests.map(\.labels)).count == 1 else {
            throw ComparisonError.invalidRun(path: picked[0].folder.path, detail: "the seeds' runs were tested on different examples")
        }
        let trainable = picked[0].summary.trainableParameters
        let total = picked[0].summary.totalParameters ?? trainable
        let times = picked.compactMap { $0.secondsToReach(fraction: 0.99) }
        let inference = tests.compactMap(\.samplesPerSecond)
        let result = MethodResult(
            method: method, learningRate: best.learningRate, sweep: sweep,
            runs: settings.seeds.map { RunSpec(method: method, learningRate: best.learningRate, seed: $0).name },
            testAccuracy: try stat(tests.map(\.accuracy)), testMacroF1: try stat(tests.map(\.macroF1)),
            trainableParameters: trainable, totalParameters: total,
            trainablePercent: 100 * Double(trainable) / Double(max(total, 1)),
            trainSeconds: try stat(picked.map(\.summary.trainSeconds)),
            trainSamplesPerSecond: try stat(picked.map(\.summary.samplesPerSecond)),
            peakRSSBytes: picked.compactMap(\.summary.peakRSSBytes).max(),
            secondsTo99Percent: times.count == picked.count ? try stat(times) : nil,
            savedBytes: picked[0].summary.savedBytes ?? 0,
            inferenceSamplesPerSecond: inference.count == tests.count ? try stat(inference) : nil,
            labels: labels, confusion: confusion,
            lossCurve: meanCurve(picked.map { $0.train.map { ($0.step, $0.loss) } }),
            evalAccuracyCurve: meanCurve(picked.map { $0.eval.map { ($0.step, $0.accuracy) } }),
            evalLossCurve: meanCurve(picked.map { $0.eval.map { ($0.step, $0.loss) } }))
        let correct = tests.map { t in zip(t.labels, t.predictions).map { $0 == $1 } }
        return (result, correct)
    }

    /// The mean over runs at each step every run logged.
    static func meanCurve(_ runs: [[(Int, Double)]]) -> [CurvePoint] {
        guard let first = runs.first else { return [] }
        let maps = runs.map { Dictionary($0, uniquingKeysWith: { $1 }) }
        return first.compactMap { step, _ in
            let values = maps.compactMap { $0[step] }
            guard values.count == maps.count else { return nil }
            return CurvePoint(step: step, value: values.reduce(0, +) / Double(values.count))
        }
    }

    static func compare(
        _ a: ComparedMethod, _ b: ComparedMethod, _ correctness: [ComparedMethod: [[Bool]]], seeds: [UInt64],
        settings: ComparisonSettings
    ) throws -> PairResult {
        let ca = correctness[a] ?? []
        let cb = correctness[b] ?? []
        guard let n = ca.first?.count, n > 0, ca.allSatisfy({ $0.count == n }), cb.allSatisfy({ $0.count == n }) else {
            throw ComparisonError.invalidSettings("\(a.rawValue) and \(b.rawValue) were tested on different examples")
        }
        // Per example, the fraction of seeds that got it right: the bootstrap resamples examples, keeping
        // each method's seeds together, so the interval reflects test-set sampling.
        func averaged(_ c: [[Bool]]) -> [Double] {
            (0..<n).map { i in Double(c.filter { $0[i] }.count) / Double(c.count) }
        }
        let bootstrap = try PairedBootstrap.test(
            a: averaged(ca), b: averaged(cb), resamples: settings.bootstrapResamples, seed: 20_261_203)
        var mcnemar: [String: Double] = [:]
        for (k, seed) in seeds.enumerated() where k < ca.count && k < cb.count {
            mcnemar[String(seed)] = try McNemar.test(a: ca[k], b: cb[k]).exactPValue
        }
        let comparison = Statistics.Comparison(method: a.rawValue, baseline: b.rawValue, bootstrap: bootstrap)
        return PairResult(
            method: a, baseline: b, difference: bootstrap.difference, low: bootstrap.interval.lowerBound,
            high: bootstrap.interval.upperBound, pValue: bootstrap.pValue, mcnemarPValues: mcnemar,
            significant: comparison.isSignificant(), sentence: comparison.sentence())
    }

    /// Which method is better, by how much, at what cost — in sentences.
    static func answer(_ r: ComparisonResult) -> [String] {
        guard let best = r.methods.first else { return [] }
        let on = r.reportedOn == "test" ? "the test set" : "the evaluation set (no separate test set was given)"
        var lines = [
            "\(best.method.rawValue) is the most accurate on \(on): \(Format.percent(best.testAccuracy.mean)) "
                + "± \(Format.percent(best.testAccuracy.std, sign: false)) over \(best.testAccuracy.values.count) seed(s), "
                + "training \(Format.count(best.trainableParameters)) parameters (\(Format.percentValue(best.trainablePercent)) of the model) "
                + "at learning rate \(LearningRateText.format(best.learningRate))."
        ]
        for pair in r.comparisons where pair.method == best.method {
            guard let other = r.methods.first(where: { $0.method == pair.baseline }) else { continue }
            var cost = "\(pair.sentence)."
            let params = Double(other.trainableParameters) / Double(max(best.trainableParameters, 1))
            let saved = Double(other.savedBytes) / Double(max(best.savedBytes, 1))
            cost += " \(other.method.rawValue) trains \(Format.ratio(params)) the parameters, saves "
                + "\(Format.bytes(other.savedBytes)) against \(Format.bytes(best.savedBytes)) (\(Format.ratio(saved))), "
                + "trains at \(Format.number(other.trainSamplesPerSecond.mean)) samples/s against "
                + "\(Format.number(best.trainSamplesPerSecond.mean))"
            if let a = other.peakRSSBytes, let b = best.peakRSSBytes {
                cost += " and peaks at \(Format.bytes(a)) of memory against \(Format.bytes(b))"
            }
            lines.append(cost + ".")
        }
        return lines
    }
}
