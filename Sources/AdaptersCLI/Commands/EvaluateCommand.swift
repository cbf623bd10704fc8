import ArgumentParser
import Datasets
import Encoders
import Foundation
import Inference
import Tokenizers
import Training

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy, macro-F1, loss and samples/s of a classifier (a model's own head, or --adapter) on labelled data; Pearson/Spearman for a regression head, micro/macro-F1 for a multi-label head, entity F1 for a tagging head.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        name: .long,
        help: "Adapter folder (AdapterHub's, or a PEFT LoRA folder) with its head. Repeat to stack adapters (the head is the last one's).")
    var adapter: [String] = []

    @Option(
        name: .long,
        help: "How several --adapter folders combine: stack (the default), average[:W1,W2,…], split:N1,N2,…, fuse:FUSIONDIR or an expression such as 'Stack(lang, Fuse(a, b))' (as predict's --compose).")
    var compose: Composition = .stack

    @Option(name: .long, help: "An AdapterFusion folder that a --compose expression's Fuse uses; repeat for several.")
    var fusion: [String] = []

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
        if compose.isParallel { throw ValidationError("evaluate runs one head: --compose parallel is for predict") }
        try compose.validate(adapterFolders: adapter.count, fusionFolders: fusion.count)
    }

    func run() throws {
        let pretrained = try modelOptions.load()
        guard let tokenizer = pretrained.tokenizer else {
            throw ValidationError("\(modelOptions.resolvedPath) has no tokenizer files")
        }
        let classifier: SequenceClassifier
        if !adapter.isEmpty {
            let expression = try compose.parsed()
            let loaded = try loadAdapterFolders(adapter, base: pretrained.encoder, activate: expression == nil)
            if let expression {
                try compose.activate(expression: expression, fusions: fusion, on: loaded)
            } else {
                try compose.activate(on: loaded)
            }
            classifier = loaded
        } else if pretrained.encoder.head != nil {
            classifier = pretrained.encoder
        } else {
            throw ValidationError("\(modelOptions.resolvedPath) has no classification head: give --adapter")
        }
        let files = try data.map { [$0] } ?? datasetOptions.files(split: split)
        if let withAdapters = classifier as? ModelWithAdapters, let name = withAdapters.activeHead,
            let head = withAdapters.head(name), !head.isSingleLabel
        {
            try evaluateTask(try withAdapters.inferenceModel(), head: head, files: files, tokenizer: tokenizer, modelFolder: pretrained.folder)
            return
        }
        guard dataOptions.task == .classification else {
            throw ValidationError("--task \(dataOptions.task.rawValue): the model's head is a single-label classification head")
        }
        // Data labels are matched to the head's names; integer labels i match class i when the names
        // are LABEL_i or were given with `train --label-names` (heads without id2label say LABEL_i).
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

    /// Regression, multi-label and tagging heads: the data is read for the head's task (`--task` may be
    /// left out), its labels matched to the head's.
    private func evaluateTask(_ model: AdapterModel, head: HeadSpec, files: [String], tokenizer: Tokenizer, modelFolder: URL) throws {
        let task = DatasetTask(head: head)
        var options = dataOptions
        if options.task != task {
            guard options.task == .classification else {
                throw ValidationError("--task \(options.task.rawValue), but the head '\(head.name)' is \(head.describe)")
            }
            options.task = task
        }
        let source = LabelledData(sources: files, options: options)
        let dataset = try source.tokenized(tokenizer: tokenizer, modelFolder: modelFolder, labelMap: LabelMap(names: head.labels))
        let (metrics, outputs) = try Trainer.evaluateTask(
            model: model, dataset: dataset, batchSize: batchSize, padId: tokenizer.padTokenId, maxLength: dataOptions.maxLength)
        if let predictions {
            try writePredictions(outputs.values, answers: outputs.answers, dataset: dataset, head: head, task: task, to: predictions)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(metrics), as: UTF8.self))
    }

    /// One JSON line per example: regression `{"label": 3.8, "prediction": 3.51}`, multi-label the label
    /// names on each side, tagging the tags of the labelled words on each side, question answering
    /// `{"id", "label": [gold answers], "prediction", "start", "end"}` per question.
    private func writePredictions(_ values: [Float], answers: [DecodedAnswer], dataset: TokenizedDataset, head: HeadSpec, task: DatasetTask, to path: String) throws {
        var at = 0
        let n = head.numLabels
        var lines: [[String: Any]] = []
        // Question answering: one line per question (its id, the gold answers, the predicted one), not per window.
        for (e, answer) in zip(dataset.questionAnswering?.examples ?? [], answers) {
            lines.append([
                "id": e.id, "label": e.answers.map(\.text), "prediction": answer.text, "start": answer.start,
                "end": answer.end,
            ])
        }
        for i in 0..<dataset.count where task != .questionAnswering {
            var line: [String: Any] = [:]
            switch task {
            case .regression:
                line = ["label": dataset.values(i).first ?? 0, "prediction": values[i]]
            case .multipleChoice:
                let row = Array(values[(i * n)..<((i + 1) * n)])
                let best = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0
                line = ["label": Int(dataset.label(i)), "prediction": best]
            case .multilabelClassification:
                let truth = dataset.values(i)
                let logits = values[(i * n)..<((i + 1) * n)]
                line = [
                    "label": truth.enumerated().filter { $0.element >= 0.5 }.map { head.labels[$0.offset] },
                    "prediction": logits.enumerated().filter { $0.element >= 0 }.map { head.labels[$0.offset] },
                ]
            case .tagging:
                let gold = dataset.tokenLabels(i).filter { $0 != -100 }
                let guess = values[at..<(at + gold.count)]
                at += gold.count
                line = ["label": gold.map { head.labels[Int($0)] }, "prediction": guess.map { head.labels[Int($0)] }]
            case .classification, .questionAnswering:
                break
            }
            lines.append(line)
        }
        var text = ""
        for line in lines {
            text += String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self) + "\n"
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ValidationError("\(path): cannot write the predictions: \(error.localizedDescription)")
        }
    }
}
