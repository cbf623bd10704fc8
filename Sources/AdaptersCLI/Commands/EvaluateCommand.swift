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

    @Option(
        name: .long,
        help: "Adapter folder (AdapterHub's, or a PEFT LoRA folder) with its head. Repeat to stack adapters (the head is the last one's).")
    var adapter: [String] = []

    @Option(name: .long, help: "Labelled data (.jsonl, .csv, .tsv, .parquet, Amazon polarity CSV).")
    var data: String?

    @OptionGroup var datasetOptions: HubDatasetOptions

    @Option(name: .long, help: "Split of --dataset.")
    var split = "test"

    @OptionGroup var dataOptions: DataOptions

    @Option(name: .long) var batchSize = 64

    @Option(
        name: .long,
        help: "Also write each example's label and prediction here, one JSON line each ({\"label\", \"prediction\"} as class names), atomically.")
    var predictions: String?

    func validate() throws {
        if (data == nil) == (datasetOptions.dataset == nil) { throw ValidationError("give either --data FILE or --dataset NAME") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let pretrained = try modelOptions.load()
        guard let tokenizer = pretrained.tokenizer else {
            throw ValidationError("\(modelOptions.resolvedPath) has no tokenizer files")
        }
        let classifier: SequenceClassifier
        if !adapter.isEmpty {
            classifier = try loadAdapterFolders(adapter, base: pretrained.encoder)
        } else if pretrained.encoder.head != nil {
            classifier = pretrained.encoder
        } else {
            throw ValidationError("\(modelOptions.resolvedPath) has no classification head: give --adapter")
        }
        // Data labels are matched to the head's names; integer labels i match class i when the names
        // are LABEL_i or were given with `train --label-names` (heads without id2label say LABEL_i).
        let files = try data.map { [$0] } ?? datasetOptions.files(split: split)
        let source = LabelledData(sources: files, options: dataOptions)
        var names = classifier.classLabels
        let dataLabels = Set(try source.labelMap().names)
        if !dataLabels.isSubset(of: Set(names)), dataLabels.allSatisfy({ Int($0).map { $0 >= 0 && $0 < names.count } ?? false }) {
            names = names.indices.map(String.init)
        }
        let dataset = try source.tokenized(tokenizer: tokenizer, modelFolder: pretrained.folder, labelMap: LabelMap(names: names))
        let (metrics, predicted) = try Trainer.evaluateWithPredictions(
            model: classifier, dataset: dataset, batchSize: batchSize, padId: tokenizer.padTokenId, maxLength: dataOptions.maxLength)
        if let predictions {
            let classes = classifier.classLabels
            var text = ""
            for (i, p) in predicted.enumerated() {
                let line: [String: String] = ["label": classes[Int(dataset.label(i))], "prediction": classes[p]]
                text += String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self) + "\n"
            }
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: predictions), options: .atomic)
            } catch {
                throw ValidationError("\(predictions): cannot write the predictions: \(error.localizedDescription)")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(metrics), as: UTF8.self))
    }
}
