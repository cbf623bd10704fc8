import Charts
import Foundation

/// `report.md` (tables, for a README or a model card) and `report.html` (the same with charts) of a
/// comparison, drawn from `comparison.json` alone.
public enum ComparisonReport {
    static func name(_ m: MethodResult) -> String { m.method.rawValue }

    static func plusMinus(_ s: Stat, percent: Bool = true) -> String {
        percent ? "\(Format.percent(s.mean)) ± \(Format.percent(s.std))" : "\(Format.number(s.mean)) ± \(Format.number(s.std))"
    }

    static func interval(_ s: Stat) -> String {
        guard let low = s.low, let high = s.high else { return "—" }
        return "\(Format.percent(low)) … \(Format.percent(high))"
    }

    /// The results table: one row per method, best first.
    static func resultRows(_ r: ComparisonResult) -> (header: [String], rows: [[String]]) {
        let header = [
            "method", "learning rate", "\(r.reportedOn) accuracy", "95 % CI", "macro-F1", "trainable parameters",
            "train time", "train samples/s", "peak memory", "time to 99 %", "saved size", "inference samples/s",
        ]
        let rows = r.methods.map { m in
            [
                name(m), LearningRateText.format(m.learningRate), plusMinus(m.testAccuracy), interval(m.testAccuracy),
                plusMinus(m.testMacroF1), "\(Format.count(m.trainableParameters)) (\(Format.percentValue(m.trainablePercent)))",
                Format.seconds(m.trainSeconds.mean), Format.number(m.trainSamplesPerSecond.mean),
                m.peakRSSBytes.map(Format.bytes) ?? "—", m.secondsTo99Percent.map { Format.seconds($0.mean) } ?? "—",
                Format.bytes(m.savedBytes), m.inferenceSamplesPerSecond.map { Format.number($0.mean) } ?? "—",
            ]
        }
        return (header, rows)
    }

    static func sweepRows(_ r: ComparisonResult) -> (header: [String], rows: [[String]]) {
        var rows: [[String]] = []
        for m in r.methods {
            for p in m.sweep {
                rows.append([
                    name(m), LearningRateText.format(p.learningRate), plusMinus(p.evalAccuracy),
                    p.learningRate == m.learningRate ? "picked" : "",
                ])
            }
        }
        return (["method", "learning rate", "eval accuracy (mean ± std over seeds)", ""], rows)
    }

    static func pairRows(_ r: ComparisonResult) -> (header: [String], rows: [[String]]) {
        let rows = r.comparisons.map { p in
            [
                "\(p.method.rawValue) − \(p.baseline.rawValue)", Format.percent(p.difference, sign: true),
                "\(Format.percent(p.low, sign: true)) … \(Format.percent(p.high, sign: true))",
                PValueText.formatPValue(p.pValue),
                p.mcnemarPValues.sorted { $0.key < $1.key }.map { "s\($0.key): \(PValueText.formatPValue($0.value))" }
                    .joined(separator: ", "),
                p.significant ? "yes" : "no",
            ]
        }
        return (["pair", "difference", "95 % CI", "bootstrap p", "McNemar p per seed", "significant at 5 %"], rows)
    }

    static func settingsRows(_ r: ComparisonResult) -> [[String]] {
        let s = r.settings
        var rows: [[String]] = [
            ["model", s.model], ["train", s.train], ["eval (learning-rate choice)", s.eval],
            ["test (reported)", s.test ?? "— (reported on eval)"], ["methods", s.methods.map(\.rawValue).joined(separator: ", ")],
            ["seeds", s.seeds.map(String.init).joined(separator: ", ")],
            ["step budget", s.maxSteps.map { "\($0) steps" } ?? "\(s.epochs) epoch(s)"],
            ["batch size", String(s.batchSize)], ["max length", String(s.maxLength)],
            ["bootstrap resamples", String(s.bootstrapResamples)],
        ]
        for m in s.methods {
            rows.append(["learning rates \(m.rawValue)", s.learningRates(for: m).map(LearningRateText.format).joined(separator: ", ")])
        }
        if !s.trainArguments.isEmpty { rows.append(["train flags", s.trainArguments.joined(separator: " ")]) }
        let e = r.environment
        rows += [
            ["tool", e.tool], ["date", e.date], ["CPU", "\(e.cpu), \(e.cores) cores"],
            ["CPU flags", e.cpuFlags.joined(separator: " ")],
        ]
        return rows
    }

    // MARK: - Markdown

    public static func markdown(_ r: ComparisonResult) -> String {
        func table(_ header: [String], _ rows: [[String]]) -> String {
            func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
            var out = "| " + header.map(cell).joined(separator: " | ") + " |\n"
            out += "|" + header.indices.map { $0 == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
            for row in rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
            return out
        }
        var md = "# Adapters vs full fine-tuning: \(r.settings.methods.map(\.rawValue).joined(separator: ", "))\n\n"
        md += r.answer.map { "- \($0)\n" }.joined() + "\n"
        let results = resultRows(r)
        md += "## Results (\(r.reportedOn) set, picked learning rate, \(r.settings.seeds.count) seeds)\n\n"
        md += table(results.header, results.rows) + "\n"
        md += "Learning rates were chosen on the evaluation set only (mean final accuracy over seeds); the "
            + "interval is Student's t over seeds. Peak memory is the largest of the runs' peak resident sizes.\n\n"
        let pairs = pairRows(r)
        md += "## Differences\n\n" + table(pairs.header, pairs.rows) + "\n"
        md += r.comparisons.map { "- \($0.sentence)\n" }.joined() + "\n"
        md += "Paired bootstrap over \(r.reportedOn) examples (each example's correctness averaged over seeds, "
            + "\(r.settings.bootstrapResamples) resamples); McNemar's exact test per seed for reference.\n\n"
        let sweep = sweepRows(r)
        md += "## Learning-rate sweep (evaluation set)\n\n" + table(sweep.header, sweep.rows) + "\n"
        md += "## Settings\n\n" + table(["setting", "value"], settingsRows(r))
        return md
    }

    // MARK: - HTML

    public static func figures(_ r: ComparisonResult) throws -> [(id: String, chart: any Chart, caption: String)] {
        let colors = Dictionary(uniqueKeysWithValues: ComparedMethod.allCases.enumerated().map { ($1, Palette.color($0)) })
        func color(_ m: MethodResult) -> String { colors[m.method] ?? Palette.color(0) }
        var figures: [(id: String, chart: any Chart, caption: String)] = []
        figures.append((
            "loss",
            LineChart(
                title: "Training loss", xLabel: "step", yLabel: "loss (mean over seeds)",
                series: r.methods.flatMap { m in
                    Series.rawAndSmoothed(
                        name: name(m), xs: m.lossCurve.map { Double($0.step) }, ys: m.lossCurve.map(\.value), color: color(m))
                }),
            "Training loss at the picked learning rate: logged values (faint) and their moving average."))
        figures.append((
            "eval-accuracy",
            LineChart(
                title: "Evaluation accuracy", xLabel: "step", yLabel: "accuracy (mean over seeds)",
                series: r.methods.map { m in
                    Series(name: name(m), xs: m.evalAccuracyCurve.map { Double($0.step) }, ys: m.evalAccuracyCurve.map(\.value),
                           style: SeriesStyle(color: color(m), markers: true))
                }, yStyle: .percent),
            "Accuracy on the evaluation set at each evaluation."))
        figures.append((
            "eval-loss",
            LineChart(
                title: "Evaluation loss", xLabel: "step", yLabel: "loss (mean over seeds)",
                series: r.methods.map { m in
                    Series(name: name(m), xs: m.evalLossCurve.map { Double($0.step) }, ys: m.evalLossCurve.map(\.value),
                           style: SeriesStyle(color: color(m), markers: true))
                }),
            "Cross-entropy on the evaluation set at each evaluation."))
        figures.append((
            "accuracy-vs-parameters",
            ScatterChart(
                title: "Accuracy vs trainable parameters", xLabel: "trainable parameters (log)",
                yLabel: "\(r.reportedOn) accuracy",
                series: r.methods.map { m in
                    ScatterSeries(
                        name: name(m),
                        points: [ErrorPoint(
                            x: Double(m.trainableParameters), y: m.testAccuracy.mean,
                            low: m.testAccuracy.values.min(), high: m.testAccuracy.values.max(), label: name(m))],
                        color: color(m))
                }, yStyle: .percent),
            "Mean over seeds; the bar spans the seeds' lowest and highest accuracy."))
        let methods = r.methods.map(name)
        figures.append((
            "train-time",
            try BarChart(
                title: "Training time", categoryLabel: "method", valueLabel: "seconds", categories: methods,
                series: [BarSeries(name: "train time", bars: r.methods.map {
                    BarValue($0.trainSeconds.mean, low: $0.trainSeconds.values.min(), high: $0.trainSeconds.values.max())
                })]),
            "Wall time of training (evaluations included), mean over seeds; whiskers: lowest and highest."))
        let rss = r.methods.map { Double($0.peakRSSBytes ?? 0) / 1e6 }
        figures.append((
            "peak-memory",
            try BarChart(
                title: "Peak memory", categoryLabel: "method", valueLabel: "MB", categories: methods,
                series: [BarSeries(name: "peak resident memory", values: rss)]),
            "Largest peak resident set size of the runs."))
        figures.append((
            "storage",
            try BarChart(
                title: "Saved size (log scale)", categoryLabel: "method", valueLabel: "bytes", categories: methods,
                series: [BarSeries(name: "saved size", values: r.methods.map { Double(max($0.savedBytes, 1)) })], scale: .log),
            "What a method ships: the adapter and head folder, or the whole model folder for full fine-tuning."))
        figures.append((
            "lr-sweep",
            LineChart(
                title: "Learning-rate sweep", xLabel: "learning rate (log)", yLabel: "eval accuracy (mean over seeds)",
                series: r.methods.map { m in
                    Series(name: name(m), xs: m.sweep.map(\.learningRate), ys: m.sweep.map(\.evalAccuracy.mean),
                           style: SeriesStyle(color: color(m), markers: true))
                }, xScale: .log, yStyle: .percent),
            "Final evaluation accuracy of each learning rate tried; the best one is used for the \(r.reportedOn) numbers."))
        for m in r.methods {
            figures.append((
                "confusion-\(m.method.rawValue)",
                try Heatmap(
                    title: "Confusion matrix: \(name(m))", rowLabels: m.labels, columnLabels: m.labels, counts: m.confusion,
                    color: color(m)),
                "\(r.reportedOn.capitalized) set, counts summed over seeds; rows are the true labels."))
        }
        return figures
    }

    public static func html(_ r: ComparisonResult) throws -> String {
        var page = HTMLPage(title: "Adapters vs full fine-tuning: \(r.settings.methods.map(\.rawValue).joined(separator: ", "))")
        for line in r.answer { page.paragraph(line, className: "answer") }
        let results = resultRows(r)
        page.heading("Results")
        page.table(results.header, results.rows,
                   caption: "\(r.reportedOn.capitalized) set, picked learning rate, mean ± std over \(r.settings.seeds.count) seed(s)")
        page.heading("Charts")
        page.charts(try figures(r))
        let pairs = pairRows(r)
        page.heading("Differences")
        page.table(pairs.header, pairs.rows)
        for c in r.comparisons { page.paragraph(c.sentence) }
        let sweep = sweepRows(r)
        page.heading("Learning-rate sweep")
        page.table(sweep.header, sweep.rows)
        page.heading("Settings and versions")
        page.table(["setting", "value"], settingsRows(r))
        return page.html
    }
}

/// p-values as reports print them.
enum PValueText {
    static func formatPValue(_ p: Double) -> String { p < 0.001 ? "< 0.001" : String(format: "%.3f", p) }
}
