import Datasets
import Encoders
import Foundation
import Kernels

extension Trainer {
    /// What `evaluateTask` computed per example, in dataset order.
    public struct TaskOutputs: Sendable {
        /// Regression: one prediction per example. Multi-label: logits `[examples, labels]`. Multiple choice: logits
        /// `[examples, choices]`. Tagging: the
        /// predicted class of each labelled token (the first token of each word), examples in order.
        public var values: [Float]
        /// Question answering: each example's answer (`AnswerDecoding.bestLogitSum`), examples in order; `values`
        /// then holds each window's start and end logits per position.
        public var answers: [DecodedAnswer] = []
    }

    /// Loss and the task's metrics (`TaskMetrics`) of a regression, multi-label, multiple-choice or tagging head over a
    /// dataset tokenized for that task, without dropout. Multi-label predictions are the labels whose
    /// sigmoid reaches `thresholds[k]` (0.5 each by default). With a process `group` each process evaluates
    /// its share and all get the whole set's result.
    public static func evaluateTask(
        model: AdapterModel, dataset: TokenizedDataset, batchSize: Int, padId: Int32, maxLength: Int?,
        thresholds: [Float]? = nil, group: ProcessGroup = SingleProcess()
    ) throws -> (metrics: TaskMetrics, outputs: TaskOutputs) {
        let head = model.head
        let n = head.numLabels
        let kind: DatasetTask =
            head.type == .questionAnswering
            ? .questionAnswering
            : head.type == .tagging
            ? .tagging
            : head.type == .multilabelClassification
                ? .multilabelClassification
                : head.type == .multipleChoice ? .multipleChoice : head.isRegression ? .regression : .classification
        guard kind != .classification else {
            throw TrainingError.invalidConfiguration(
                "evaluateTask is for regression, multi-label, multiple-choice and tagging heads; use evaluate")
        }
        guard dataset.task == kind else {
            throw TrainingError.invalidConfiguration(
                "the dataset was prepared for \(dataset.task.rawValue) and the head '\(head.name)' is \(head.describe)")
        }
        let thresholds = thresholds ?? [Float](repeating: 0.5, count: n)
        guard thresholds.count == n else {
            throw TrainingError.invalidConfiguration("\(thresholds.count) thresholds for \(n) labels")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        // Where each example's outputs start: a fixed layout every process fills its share of.
        var outputStart = [0]
        outputStart.reserveCapacity(dataset.count + 1)
        for i in 0..<dataset.count {
            let width =
                kind == .tagging
                ? dataset.tokenLabels(i).filter { $0 != -100 }.count
                : kind == .questionAnswering ? 2 * dataset.sequence(i).count : (kind == .regression ? 1 : n)
            outputStart.append(outputStart[i] + width)
        }
        var outputs = [Double](repeating: 0, count: outputStart[dataset.count] + 2)
        var lossSum = 0.0
        var weight = 0.0
        let share = group.share(of: dataset.count)
        for lo in stride(from: share.lowerBound, to: share.upperBound, by: max(1, batchSize)) {
            let indices = Array(lo..<min(share.upperBound, lo + batchSize))
            let padded = dataset.batch(indices, padId: padId, padding: .longest, maxLength: maxLength)
            let tokens = try TokenBatch(padded)
            let labelled = padded.tokenLabels?.filter { $0 != -100 }.count ?? 0
            let logits: [Float]
            if kind == .tagging && labelled == 0 {
                logits = try model.logits(tokens)  // no loss to take: nothing is labelled
            } else {
                let r = try model.step(tokens, targets: padded.targets, seed: 0, training: false, backward: false)
                logits = r.logits
                let w = Double(kind == .tagging ? labelled : indices.count)
                lossSum += Double(r.loss) * w
                weight += w
            }
            var at = outputStart[lo]
            switch kind {
            case .regression, .multilabelClassification, .multipleChoice, .questionAnswering:
                // (Question answering: [M, 2] over the attended positions, window after window.)
                for v in logits { outputs[at] = Double(v); at += 1 }
            case .tagging:
                // Logit rows are the attended positions in order; keep those with a label.
                var row = 0
                for (p, y) in (padded.tokenLabels ?? []).enumerated() where padded.attentionMask[p] != 0 {
                    if y != -100 {
                        var best = 0
                        for j in 1..<n where logits[row * n + j] > logits[row * n + best] { best = j }
                        outputs[at] = Double(best)
                        at += 1
                    }
                    row += 1
                }
            case .classification:
                break
            }
        }
        outputs[outputs.count - 2] = lossSum
        outputs[outputs.count - 1] = weight
        if group.size > 1 { try group.sum(&outputs, "gathering the evaluation") }
        let loss = Float(outputs[outputs.count - 2] / max(outputs[outputs.count - 1], 1))
        let predicted = Array(outputs.prefix(outputStart[dataset.count]))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rate = Double(dataset.count) / max(seconds, 1e-9)
        var values: [String: Double] = [:]
        var answers: [DecodedAnswer] = []
        let primary: String
        switch kind {
        case .regression:
            let truth = (0..<dataset.count).map { Double(dataset.values($0).first ?? 0) }
            values["pearson"] = MetricMath.pearson(predicted, truth)
            values["spearman"] = MetricMath.spearman(predicted, truth)
            primary = "pearson"
        case .multilabelClassification:
            var decided: [Bool] = []
            decided.reserveCapacity(predicted.count)
            for (k, z) in predicted.enumerated() {
                decided.append(1 / (1 + exp(-z)) >= Double(thresholds[k % n]))
            }
            let truth = (0..<dataset.count).flatMap { dataset.values($0).map { $0 >= 0.5 } }
            let s = MetricMath.multilabelScores(predicted: decided, truth: truth, labels: n)
            values["micro_f1"] = s.micro
            values["macro_f1"] = s.macro
            values["subset_accuracy"] = s.subset
            primary = "micro_f1"
        case .tagging:
            var truthTags: [[String]] = []
            var predictedTags: [[String]] = []
            var correct = 0
            for i in 0..<dataset.count {
                let gold = dataset.tokenLabels(i).filter { $0 != -100 }.map(Int.init)
                let guess = predicted[outputStart[i]..<outputStart[i + 1]].map { Int($0) }
                correct += zip(gold, guess).filter { $0 == $1 }.count
                truthTags.append(gold.map { head.labels[$0] })
                predictedTags.append(guess.map { head.labels[min(max($0, 0), n - 1)] })
            }
            let s = MetricMath.entityScores(truth: truthTags, predicted: predictedTags)
            values["precision"] = s.precision
            values["recall"] = s.recall
            values["f1"] = s.f1
            values["accuracy"] = predicted.isEmpty ? 0 : Double(correct) / Double(predicted.count)
            primary = "f1"
        case .multipleChoice:
            var correct = 0
            for i in 0..<dataset.count {
                let row = predicted[(i * n)..<((i + 1) * n)]
                let best = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? i * n
                if best - i * n == Int(dataset.label(i)) { correct += 1 }
            }
            values["accuracy"] = dataset.count == 0 ? 0 : Double(correct) / Double(dataset.count)
            primary = "accuracy"
        case .questionAnswering:
            guard let qa = dataset.questionAnswering else {
                throw TrainingError.invalidConfiguration("the question-answering dataset has no examples behind its windows")
            }
            // Data with unanswerable questions is SQuAD 2.0: the null answer competes (run_qa's version_2_with_negative).
            let unanswerable = qa.examples.contains { $0.answers.isEmpty }
            for (e, windows) in qa.windowsOf.enumerated() {
                let scored = windows.map { w in
                    let columns = QuestionAnsweringFeatures.startAndEnd(
                        predicted[outputStart[w]..<outputStart[w + 1]].map(Float.init))
                    return qa.scoredWindow(w, startLogits: columns.start, endLogits: columns.end)
                }
                answers.append(
                    AnswerDecoding.bestLogitSum(scored, context: qa.examples[e].context, allowNoAnswer: unanswerable))
            }
            let s = MetricMath.squad(predictions: answers.map(\.text), golds: qa.examples.map { $0.answers.map(\.text) })
            values["exact_match"] = s.exactMatch
            values["f1"] = s.f1
            primary = "f1"
        case .classification:
            primary = "accuracy"
        }
        // Question answering counts questions (each may span several windows).
        let metrics = TaskMetrics(
            task: kind.rawValue, loss: loss, examples: dataset.questionAnswering?.examples.count ?? dataset.count, samplesPerSecond: rate, values: values,
            primary: primary)
        return (metrics, TaskOutputs(values: predicted.map(Float.init), answers: answers))
    }
}
