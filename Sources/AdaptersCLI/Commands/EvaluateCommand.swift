import ArgumentParser
import Datasets
import Encoders
import Foundation
import Inference
import Training

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy, macro-F1, loss and samples/s of a classifier (a model's own head, or --adapter) on labelled data.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "AdapterHub adapter folder (adapter + head).")
    var adapter: String?

    @Option(name: .long, help: "Labelled data (.jsonl, .csv, .tsv, Amazon polarity CSV).")
    var data: String

    @OptionGroup var dataOptions: DataOptions

    @Option(name: .long) var batchSize = 64

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let pretrained = try modelOptions.load()
        guard let tokenizer = pretrained.tokenizer else {
            throw ValidationError("\(modelOptions.resolvedPath) has no tokenizer files")
        }
        let classifier: SequenceClassifier
        if let adapter {
            classifier = try loadAdapterFolder(adapter, base: pretrained.encoder)
        } else if pretrained.encoder.head != nil {
            classifier = pretrained.encoder
        } else {
            throw ValidationError("\(modelOptions.resolvedPath) has no classification head: give --adapter")
        }
        let labeled = try LabeledDataset.load(path: data, options: dataOptions.options)
        // Heads without id2label name their classes LABEL_i; data then gives i.
        // Data labels are matched to the head's names; integer labels i match class i when the names
        // are LABEL_i or were given with `train --label-names`.
        var names = classifier.classLabels
        let dataLabels = Set(labeled.examples.map(\.label))
        if !dataLabels.isSubset(of: Set(names)), dataLabels.allSatisfy({ Int($0).map { $0 >= 0 && $0 < names.count } ?? false }) {
            names = names.indices.map(String.init)
        }
        let dataset = try TokenizedDataset(
            dataset: labeled, tokenizer: tokenizer, labelMap: LabelMap(names: names), maxLength: dataOptions.maxLength)
        let metrics = try evaluate(classifier, dataset, padId: tokenizer.padTokenId)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(metrics), as: UTF8.self))
    }

    func evaluate(_ classifier: SequenceClassifier, _ dataset: TokenizedDataset, padId: Int32) throws -> ClassificationMetrics {
        let start = Date()
        let n = classifier.classLabels.count
        var predictions: [Int] = []
        var loss = 0.0
        for lo in stride(from: 0, to: dataset.count, by: batchSize) {
            let padded = dataset.batch(Array(lo..<min(dataset.count, lo + batchSize)), padId: padId, padding: .longest, maxLength: dataOptions.maxLength)
            let batch = try TokenBatch(
                batchSize: padded.batchSize, sequenceLength: padded.sequenceLength, inputIds: padded.inputIds,
                attentionMask: padded.attentionMask, tokenTypeIds: padded.tokenTypeIds)
            let logits = try classifier.classLogits(batch)
            for b in 0..<padded.batchSize {
                let row = Array(logits[b * n..<(b + 1) * n])
                let probs = softmax(row)
                let y = Int(padded.labels[b])
                loss -= Foundation.log(max(Double(probs[y]), 1e-30))
                predictions.append(row.indices.max { row[$0] < row[$1] } ?? 0)
            }
        }
        let seconds = Date().timeIntervalSince(start)
        return ClassificationMetrics(
            loss: Float(loss / Double(max(1, dataset.count))), predictions: predictions, labels: dataset.labels.map { Int($0) },
            classes: n, samplesPerSecond: Double(dataset.count) / max(seconds, 1e-9))
    }
}
