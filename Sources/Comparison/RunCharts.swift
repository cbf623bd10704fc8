import Charts
import Foundation

/// The charts of one training run (`adapters report RUN_DIR`): loss (raw and smoothed), learning-rate
/// schedule, gradient norm, evaluation metrics.
public enum RunCharts {
    public static func figures(_ run: RunRecord, color: String = Palette.color(0)) -> [(id: String, chart: any Chart, caption: String)] {
        let steps = run.train.map { Double($0.step) }
        let evalSteps = run.eval.map { Double($0.step) }
        return [
            ("loss", LineChart(
                title: "Training loss", xLabel: "step", yLabel: "loss",
                series: Series.rawAndSmoothed(name: "loss", xs: steps, ys: run.train.map(\.loss), color: color)),
             "Mean loss of each logged window (faint) and its exponential moving average (α = 0.1)."),
            ("learning-rate", LineChart(
                title: "Learning rate", xLabel: "step", yLabel: "learning rate",
                series: [Series(name: "learning rate", xs: steps, ys: run.train.map(\.learningRate), style: SeriesStyle(color: color))]),
             "The schedule as applied at each logged step."),
            ("grad-norm", LineChart(
                title: "Gradient norm (before clipping)", xLabel: "step", yLabel: "global L2 norm",
                series: [Series(name: "gradient norm", xs: steps, ys: run.train.map(\.gradNorm), style: SeriesStyle(color: color))]),
             "The global norm of the trainable gradients at the logged steps."),
            ("eval-metrics", LineChart(
                title: "Evaluation", xLabel: "step", yLabel: "score",
                series: [
                    Series(name: "accuracy", xs: evalSteps, ys: run.eval.map(\.accuracy),
                           style: SeriesStyle(color: Palette.color(0), markers: true)),
                    Series(name: "macro-F1", xs: evalSteps, ys: run.eval.map(\.macroF1),
                           style: SeriesStyle(color: Palette.color(1), dashed: true, markers: true)),
                ], yStyle: .percent),
             "Accuracy and macro-F1 on the evaluation set at each evaluation."),
            ("eval-loss", LineChart(
                title: "Evaluation loss", xLabel: "step", yLabel: "loss",
                series: [Series(name: "eval loss", xs: evalSteps, ys: run.eval.map(\.loss),
                                style: SeriesStyle(color: Palette.color(2), markers: true))]),
             "Cross-entropy on the evaluation set."),
        ]
    }

    /// `report.html` of a run folder.
    public static func page(_ run: RunRecord) -> HTMLPage {
        let s = run.summary
        var page = HTMLPage(title: "Training run: \(run.folder.lastPathComponent) (\(s.method))")
        var rows: [[String]] = [
            ["method", s.method], ["steps", String(s.steps)], ["training time", Format.seconds(s.trainSeconds)],
            ["samples/s", Format.number(s.samplesPerSecond)], ["trainable parameters", Format.count(s.trainableParameters)],
        ]
        if let lr = s.learningRate { rows.append(["learning rate", LearningRateText.format(lr)]) }
        if let seed = s.seed { rows.append(["seed", String(seed)]) }
        if let peak = s.peakRSSBytes { rows.append(["peak memory", Format.bytes(peak)]) }
        if let saved = s.savedBytes { rows.append(["saved size", Format.bytes(saved)]) }
        if let last = run.eval.last {
            rows.append(["final eval accuracy", Format.percent(last.accuracy)])
            rows.append(["final eval macro-F1", Format.percent(last.macroF1)])
        }
        if let t = run.test { rows.append(["test accuracy", Format.percent(t.accuracy)]) }
        page.table(["", "value"], rows, caption: "Summary (summary.json)")
        page.charts(figures(run))
        return page
    }
}
