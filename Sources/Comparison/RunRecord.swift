import Foundation

/// What one `adapters train` run left in its folder, read back: `summary.json`, `train_log.jsonl`, and —
/// once `compare` evaluated it — `test_metrics.json` (what `adapters evaluate` prints) and
/// `test_predictions.jsonl` (`evaluate --predictions`).
public struct RunRecord: Sendable {
    public struct TrainPoint: Codable, Sendable, Equatable {
        public var step: Int
        public var epoch: Double
        public var loss: Double
        public var learningRate: Double
        public var gradNorm: Double
        public var elapsedSeconds: Double?
    }

    public struct EvalPoint: Codable, Sendable, Equatable {
        public var step: Int
        public var accuracy: Double
        public var loss: Double
        public var macroF1: Double
        public var elapsedSeconds: Double?
    }

    /// `summary.json` of `adapters train`.
    public struct Summary: Sendable, Equatable {
        public var method: String
        public var steps: Int
        public var trainSeconds: Double
        public var samplesPerSecond: Double
        public var trainableParameters: Int
        public var totalParameters: Int?
        public var savedBytes: Int?
        public var peakRSSBytes: Int?
        public var learningRate: Double?
        public var seed: UInt64?
        public var labels: [String]
        public var saved: String
        public var evalAccuracy: Double?
    }

    /// `adapters evaluate`'s metrics on the test set, with each example's label and prediction.
    public struct Test: Sendable, Equatable {
        public var accuracy: Double
        public var macroF1: Double
        public var loss: Double
        public var examples: Int
        public var samplesPerSecond: Double?
        public var labels: [String]
        public var predictions: [String]
    }

    public var folder: URL
    public var summary: Summary
    public var train: [TrainPoint]
    public var eval: [EvalPoint]
    public var test: Test?

    public init(folder: URL, summary: Summary, train: [TrainPoint], eval: [EvalPoint], test: Test?) {
        self.folder = folder
        self.summary = summary
        self.train = train
        self.eval = eval
        self.test = test
    }

    /// Reads a finished run's folder (one with `summary.json`).
    public init(folder: URL) throws {
        self.folder = folder
        let summaryURL = folder.appendingPathComponent("summary.json")
        let s = try Self.object(summaryURL)
        func number(_ key: String) -> Double? { (s[key] as? NSNumber)?.doubleValue }
        guard let method = s["method"] as? String, let steps = (s["steps"] as? NSNumber)?.intValue,
            let trainable = (s["trainable_parameters"] as? NSNumber)?.intValue
        else {
            throw ComparisonError.invalidRun(path: summaryURL.path, detail: "no method, steps or trainable_parameters")
        }
        summary = Summary(
            method: method, steps: steps, trainSeconds: number("train_seconds") ?? number("seconds") ?? 0,
            samplesPerSecond: number("samples_per_second") ?? 0, trainableParameters: trainable,
            totalParameters: (s["total_parameters"] as? NSNumber)?.intValue,
            savedBytes: (s["saved_bytes"] as? NSNumber)?.intValue,
            peakRSSBytes: (s["peak_rss_bytes"] as? NSNumber)?.intValue, learningRate: number("learning_rate"),
            seed: (s["seed"] as? NSNumber)?.uint64Value, labels: s["labels"] as? [String] ?? [],
            saved: s["saved"] as? String ?? "", evalAccuracy: ((s["eval"] as? [String: Any])?["accuracy"] as? NSNumber)?.doubleValue)
        (train, eval) = try Self.log(folder.appendingPathComponent("train_log.jsonl"))
        test = try Self.test(folder)
    }

    /// The run's `train_log.jsonl`: training lines (with `loss`) and evaluation lines (with `eval_accuracy`).
    public static func log(_ url: URL) throws -> ([TrainPoint], [EvalPoint]) {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ComparisonError.invalidRun(path: url.path, detail: "no such file")
        }
        var train: [TrainPoint] = []
        var eval: [EvalPoint] = []
        for (i, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                throw ComparisonError.invalidRun(path: url.path, detail: "line \(i + 1) is not a JSON object")
            }
            func n(_ key: String) -> Double? { (o[key] as? NSNumber)?.doubleValue }
            guard let step = (o["step"] as? NSNumber)?.intValue else {
                throw ComparisonError.invalidRun(path: url.path, detail: "line \(i + 1) has no step")
            }
            if let accuracy = n("eval_accuracy") {
                eval.append(EvalPoint(step: step, accuracy: accuracy, loss: n("eval_loss") ?? .nan,
                                      macroF1: n("eval_macro_f1") ?? .nan, elapsedSeconds: n("elapsed_seconds")))
            } else if let loss = n("loss") {
                train.append(TrainPoint(step: step, epoch: n("epoch") ?? .nan, loss: loss,
                                        learningRate: n("learning_rate") ?? .nan, gradNorm: n("grad_norm") ?? .nan,
                                        elapsedSeconds: n("elapsed_seconds")))
            }
        }
        return (train, eval)
    }

    static func test(_ folder: URL) throws -> Test? {
        let metricsURL = folder.appendingPathComponent("test_metrics.json")
        let predictionsURL = folder.appendingPathComponent("test_predictions.jsonl")
        guard FileManager.default.fileExists(atPath: metricsURL.path) else { return nil }
        let m = try object(metricsURL)
        func n(_ key: String) -> Double? { (m[key] as? NSNumber)?.doubleValue }
        guard let accuracy = n("accuracy"), let examples = (m["examples"] as? NSNumber)?.intValue else {
            throw ComparisonError.invalidRun(path: metricsURL.path, detail: "no accuracy or examples")
        }
        guard let data = FileManager.default.contents(atPath: predictionsURL.path) else {
            throw ComparisonError.invalidRun(path: predictionsURL.path, detail: "no such file")
        }
        var labels: [String] = []
        var predictions: [String] = []
        for (i, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                let label = o["label"] as? String, let prediction = o["prediction"] as? String
            else {
                throw ComparisonError.invalidRun(path: predictionsURL.path, detail: "line \(i + 1) has no label and prediction")
            }
            labels.append(label)
            predictions.append(prediction)
        }
        guard labels.count == examples else {
            throw ComparisonError.invalidRun(
                path: predictionsURL.path, detail: "\(labels.count) predictions for \(examples) examples in test_metrics.json")
        }
        return Test(accuracy: accuracy, macroF1: n("macro_f1") ?? .nan, loss: n("loss") ?? .nan, examples: examples,
                    samplesPerSecond: n("samples_per_second"), labels: labels, predictions: predictions)
    }

    static func object(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ComparisonError.invalidRun(path: url.path, detail: "no such file")
        }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ComparisonError.invalidRun(path: url.path, detail: "not a JSON object")
        }
        return o
    }

    /// Seconds until evaluation first reached `fraction` of the final evaluation accuracy; nil without
    /// evaluations or times.
    public func secondsToReach(fraction: Double) -> Double? {
        guard let final = eval.last?.accuracy else { return nil }
        return eval.first { $0.accuracy >= fraction * final }?.elapsedSeconds
    }
}
