import ArgumentParser
import Encoders
import Foundation
import Inference
import Training

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify inputs with a sequence-classification model: one JSON line each, {label, score, logits}.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inputOptions: InputOptions

    @Option(
        name: .long,
        help: "Adapter folder (AdapterHub's, or a PEFT LoRA folder) with its head, run on the model. Repeat to stack adapters (AdapterHub's Stack, in order; the head is the last one's).")
    var adapter: [String] = []

    @Option(name: .long, help: "Inputs per forward pass.")
    var batchSize = 32

    @Option(name: .long, help: "Truncate texts to this many tokens (default: the model's limit).")
    var maxLength: Int?

    @Option(name: .long, help: "Also list the K most probable labels with scores (\"top_k\": [{label, score}]).")
    var topK: Int?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        let model = try modelOptions.load()
        let records = try InputReader.read(inputOptions.input, options: inputOptions.readerOptions)
        let sink = try OutputSink(path: inputOptions.output)
        let classifier: SequenceClassifier? = adapter.isEmpty ? nil : try loadAdapterFolders(adapter, base: model.encoder)
        let runner = Runner(model: model, maxLength: maxLength, classifier: classifier)
        let labels = runner.classifier?.classLabels ?? []
        for p in try runner.predict(records, batchSize: batchSize, source: inputOptions.input) {
            var line = "{\"label\":\(JSONLines.string(p.label)),\"score\":\(JSONLines.number(p.score)),\"logits\":\(JSONLines.array(p.logits))"
            if let topK {
                let items = p.top(topK, labels: labels).map { "{\"label\":\(JSONLines.string($0.label)),\"score\":\(JSONLines.number($0.score))}" }
                line += ",\"top_k\":[\(items.joined(separator: ","))]"
            }
            sink.write(line + "}")
        }
        try sink.finish()
    }
}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Embed inputs: one JSON line each, {\"embedding\": [...]} (unnormalised).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var inputOptions: InputOptions

    @Option(name: .long, help: "mean (over attended tokens) or cls (first token).")
    var pooling: Pooling = .mean

    @Option(name: .long, help: "Inputs per forward pass.")
    var batchSize = 32

    @Option(name: .long, help: "Truncate texts to this many tokens (default: sentence_bert_config.json's max_seq_length, else the model's limit).")
    var maxLength: Int?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
    }

    func run() throws {
        let model = try modelOptions.load()
        let records = try InputReader.read(inputOptions.input, options: inputOptions.readerOptions)
        let sink = try OutputSink(path: inputOptions.output)
        let runner = Runner(model: model, maxLength: maxLength ?? sentenceTransformersMaxLength(model.folder))
        for e in try runner.embed(records, pooling: pooling, batchSize: batchSize, source: inputOptions.input) {
            sink.write("{\"embedding\":\(JSONLines.array(e))}")
        }
        try sink.finish()
    }

    /// sentence-transformers truncates at `max_seq_length` (256 for all-MiniLM-L6-v2).
    func sentenceTransformersMaxLength(_ folder: URL) -> Int? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("sentence_bert_config.json").path),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return nil }
        return (object["max_seq_length"] as? NSNumber)?.intValue
    }
}

extension Pooling: ExpressibleByArgument {}
