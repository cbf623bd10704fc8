import ArgumentParser
import Encoders
import Foundation
import Adapters
import Datasets
import Inference
import Tokenizers
import Training

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify inputs with a sequence-classification model: one JSON line each, {label, score, logits}.",
        discussion: """
            With a regression head: {"label", "score": the predicted value, "logits"}; a multi-label head: {"labels": \
            those whose sigmoid reaches --threshold, "scores": {label: sigmoid}, "logits"}; a tagging head: \
            {"tokens": [{"entity", "score", "index", "word"}] for every non-special token, "logits": one list per attended \
            token, "entities": transformers' token-classification pipeline output for --aggregation-strategy}; a question-answering head reads JSON lines (or SQuAD JSON) with "question" and "context" and prints \
            transformers' pipeline answer {"score", "start", "end", "answer"} with "start_logits" and "end_logits" (one \
            list per window of the context).
            """)

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

    @Option(name: .long, help: "Multi-label heads: the sigmoid score from which a label is predicted.")
    var threshold: Float = 0.5

    @Option(
        name: .long,
        help: "Question answering: context tokens shared by consecutive windows (default: half of the window, at most 128).")
    var docStride: Int?

    @Option(name: .long, help: "Question answering: the longest answer, in tokens.")
    var maxAnswerLength = 15

    @Option(
        name: .long,
        help: "Tagging: how \"entities\" groups the tokens, as transformers' token-classification pipeline: none, simple, first, average or max.")
    var aggregationStrategy: AggregationStrategy = .none

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How several --adapter folders combine: stack (AdapterHub's Stack, the default), parallel, average[:W1,W2,…], split:N1,N2,…, fuse:FUSIONDIR, or a composition over the adapters' names as in Python: 'Stack(lang, Fuse(a, b))'.",
            discussion: "parallel runs every adapter with its own head on each input (AdapterHub's Parallel); each line then holds one object per head, keyed by the head's name: {\"A\": {\"label\", \"score\", \"logits\"}, \"B\": {…}}. average:0.7,0.3 combines the adapters' outputs at every layer with these weights (normalised; equal without them; AdapterHub's Average) and predicts with the last adapter's head. split:2,30 sends each sequence's first 2 tokens through the first adapter, the next 30 (and any after) through the second (AdapterHub's Split). fuse:FUSIONDIR loads an AdapterFusion folder (save_adapter_fusion) over the adapters it names, which the --adapter folders must provide, and predicts with its head. An expression names the loaded adapters and nests blocks: Stack(lang, Fuse(a, b)) (the fusion folder given with --fusion), Stack(lang, Average(a, b, weights=[0.7, 0.3])), Stack(lang, Split(a, b, splits=[2, 30])), Parallel(Stack(lang, a), Stack(lang, b)) (one object per branch's head). A setup ending in a Fuse predicts with the fusion's head, any other with its last adapter's."
        ))
    var compose: Composition = .stack

    @Option(
        name: .long,
        help: "An AdapterFusion folder (save_adapter_fusion) that a --compose expression's Fuse uses; repeat for several.")
    var fusion: [String] = []

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        try compose.validate(adapterFolders: adapter.count, fusionFolders: fusion.count)
        if !(threshold > 0 && threshold < 1) { throw ValidationError("--threshold must be between 0 and 1") }
        if let docStride, docStride < 0 { throw ValidationError("--doc-stride must not be negative") }
        if maxAnswerLength < 1 { throw ValidationError("--max-answer-length must be at least 1") }
    }

    func run() throws {
        let model = try modelOptions.load()
        // Read where the head is known: multiple-choice inputs hold one list per choice.
        func readRecords() throws -> [InputRecord] {
            try InputReader.read(inputOptions.input, options: inputOptions.readerOptions)
        }
        let sink = try OutputSink(path: inputOptions.output)
        if compose.isParallel {
            try predictParallel(model: model, records: try readRecords(), sink: sink)
            return
        }
        let expression = try compose.parsed()
        let classifier: SequenceClassifier? =
            adapter.isEmpty ? nil : try loadAdapterFolders(adapter, base: model.encoder, activate: expression == nil)
        if let withAdapters = classifier as? ModelWithAdapters {
            if let expression {
                try compose.activate(expression: expression, fusions: fusion, on: withAdapters)
            } else {
                try compose.activate(on: withAdapters)
            }
        }
        let runner = Runner(model: model, maxLength: maxLength, classifier: classifier)
        if let withAdapters = classifier as? ModelWithAdapters, let name = withAdapters.activeHead,
            let head = withAdapters.head(name), !head.isSingleLabel
        {
            let engine = try withAdapters.inferenceModel()
            if head.type == .questionAnswering {
                try answer(runner: runner, model: engine, sink: sink)
                return
            }
            var records: [InputRecord] = []
            var perBatch = batchSize
            if head.type == .multipleChoice {
                // Each example's choices as consecutive records; a forward pass holds whole examples.
                let examples = try InputReader.readChoices(inputOptions.input, options: inputOptions.readerOptions)
                guard examples[0].count == head.numLabels else {
                    throw ValidationError(
                        "\(inputOptions.input): \(examples[0].count) choices per example; the head '\(head.name)' has \(head.numLabels)")
                }
                records = examples.flatMap { $0 }
                perBatch = max(1, batchSize / head.numLabels) * head.numLabels
            } else {
                records = try readRecords()
            }
            let predictions = try runner.predictTask(records, model: engine, batchSize: perBatch, source: inputOptions.input)
            for (record, p) in zip(records, predictions) {
                // Tagging: the pipeline's entities (start/end in characters) too.
                var entities: [TokenEntity]?
                if case .tagging(_, let logits) = p {
                    entities = runner.entities(for: record, logits: logits, labels: head.labels, strategy: aggregationStrategy)
                }
                sink.write(Self.line(p, labels: head.labels, threshold: threshold, entities: entities))
            }
            try sink.finish()
            return
        }
        let labels = runner.classifier?.classLabels ?? []
        for p in try runner.predict(try readRecords(), batchSize: batchSize, source: inputOptions.input) {
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

extension PredictCommand {
    /// `--compose parallel`: every folder's adapter with its head on each input, one object per head; or a `Parallel(…)`
    /// expression's branches.
    func predictParallel(model: PretrainedModel, records: [InputRecord], sink: OutputSink) throws {
        let withAdapters: ModelWithAdapters
        let setups: [AdapterSetup]
        if case .parallel(let branches)? = try compose.parsed() {
            withAdapters = try loadAdapterFolders(adapter, base: model.encoder, activate: false)
            try compose.activate(expression: .parallel(branches), fusions: fusion, on: withAdapters)
            setups = branches
        } else {
            withAdapters = try loadParallelFolders(model: model)
            setups = withAdapters.adapterNames.map { AdapterSetup([$0]) }
        }
        let runner = Runner(model: model, maxLength: maxLength)
        let source = inputOptions.input
        for start in stride(from: 0, to: records.count, by: batchSize) {
            let slice = records[start..<min(records.count, start + batchSize)]
            let batch = try runner.encoder.batch(slice, source: source)
            let branches: [(head: String, logits: [Float])]
            do {
                branches = try withAdapters.parallelLogits(setups, batch)
            } catch let error as AdapterError {
                throw ValidationError("--compose: \(error)")
            }
            var objects = [[String]](repeating: [], count: batch.batchSize)
            for branch in branches {
                guard let head = withAdapters.head(branch.head) else { continue }
                let lines = Self.lines(branch.logits, head: head, batch: batch, tokenizer: runner.encoder.tokenizer, threshold: threshold)
                for (b, line) in lines.enumerated() { objects[b].append("\(JSONLines.string(branch.head)):\(line)") }
            }
            for o in objects { sink.write("{" + o.joined(separator: ",") + "}") }
        }
        try sink.finish()
    }

    /// `--compose parallel`'s folders, each with its head (a name loaded twice becomes NAME_2…).
    private func loadParallelFolders(model: PretrainedModel) throws -> ModelWithAdapters {
        let withAdapters = ModelWithAdapters(base: model.encoder, logger: logger)
        for (i, path) in adapter.enumerated() {
            let url = try HubAccess.folder(path, selection: .all)
            let name: String
            do {
                name = try withAdapters.loadAdapter(from: url)
            } catch AdapterError.alreadyExists(let n), AdapterError.headAlreadyExists(let n) {
                name = try withAdapters.loadAdapter(from: url, loadAs: "\(n)_\(i + 1)")
            }
            guard withAdapters.head(name) != nil else {
                throw ValidationError("\(path): no head_config.json; every --adapter of a Parallel needs its head")
            }
        }
        return withAdapters
    }

    /// Each sequence's output object from a head's logits over `batch`.
    static func lines(_ logits: [Float], head: HeadSpec, batch: TokenBatch, tokenizer: Tokenizer?, threshold: Float) -> [String] {
        let n = head.numLabels
        if head.isSingleLabel {
            return (0..<batch.batchSize).map { b in
                let row = Array(logits[(b * n)..<((b + 1) * n)])
                let p = softmax(row)
                var best = 0
                for j in 1..<n where p[j] > p[best] { best = j }
                return "{\"label\":\(JSONLines.string(head.labels[best])),\"score\":\(JSONLines.number(p[best])),\"logits\":\(JSONLines.array(row))}"
            }
        }
        return TaskPrediction.split(logits, head: head, batch: batch, tokenizer: tokenizer).map {
            line($0, labels: head.labels, threshold: threshold)
        }
    }

    /// One entity as the pipeline prints it: `{"entity", "score", "index", "word", "start", "end"}` for `none`,
    /// `{"entity_group", "score", "word", "start", "end"}` otherwise (spans null for pre-tokenized input).
    static func entityJSON(_ e: TokenEntity) -> String {
        let span = "\"start\":\(e.start.map(String.init) ?? "null"),\"end\":\(e.end.map(String.init) ?? "null")"
        if let index = e.index {
            return "{\"entity\":\(JSONLines.string(e.label)),\"score\":\(JSONLines.number(e.score)),\"index\":\(index),\"word\":\(JSONLines.string(e.word)),\(span)}"
        }
        return "{\"entity_group\":\(JSONLines.string(e.label)),\"score\":\(JSONLines.number(e.score)),\"word\":\(JSONLines.string(e.word)),\(span)}"
    }

    /// One output line of a regression, multi-label or tagging prediction.
    static func line(_ p: TaskPrediction, labels: [String], threshold: Float, entities: [TokenEntity]? = nil) -> String {
        switch p {
        case .regression(let value):
            return "{\"label\":\(JSONLines.string(labels.first ?? "LABEL_0")),\"score\":\(JSONLines.number(value)),\"logits\":\(JSONLines.array([value]))}"
        case .multipleChoice(let choice, let scores, let logits):
            return "{\"choice\":\(choice),\"label\":\(JSONLines.string(labels[choice])),\"score\":\(JSONLines.number(scores[choice])),\"scores\":\(JSONLines.array(scores)),\"logits\":\(JSONLines.array(logits))}"
        case .multilabel(let scores, let logits):
            let chosen = scores.indices.filter { scores[$0] >= threshold }.map { JSONLines.string(labels[$0]) }
            let named = scores.indices.map { "\(JSONLines.string(labels[$0])):\(JSONLines.number(scores[$0]))" }
            return "{\"labels\":[\(chosen.joined(separator: ","))],\"scores\":{\(named.joined(separator: ","))},\"logits\":\(JSONLines.array(logits))}"
        case .spanLogits(let start, let end):
            return "{\"start_logits\":\(JSONLines.array(start)),\"end_logits\":\(JSONLines.array(end))}"
        case .tagging(let tokens, let logits):
            let items = tokens.map {
                "{\"entity\":\(JSONLines.string($0.entity)),\"score\":\(JSONLines.number($0.score)),\"index\":\($0.index),\"word\":\(JSONLines.string($0.word))}"
            }
            let grouped = entities.map { ",\"entities\":[\($0.map(entityJSON).joined(separator: ","))]" } ?? ""
            return "{\"tokens\":[\(items.joined(separator: ","))],\"logits\":[\(logits.map(JSONLines.array).joined(separator: ","))]\(grouped)}"
        }
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
extension AggregationStrategy: ExpressibleByArgument {}

extension PredictCommand {
    /// A question-answering head: questions with their contexts in, the pipeline's answers out.
    func answer(runner: Runner, model: AdapterModel, sink: OutputSink) throws {
        let path = inputOptions.input
        let questions: [QuestionAnsweringExample]
        if path == "-" {
            questions = try QuestionAnsweringReader.parse(FileHandle.standardInput.readDataToEndOfFile(), source: "<stdin>")
        } else if DatasetFormat.inferred(fromPath: path) == .parquet {
            questions = try ParquetExamples.questionAnsweringExamples(files: [URL(fileURLWithPath: path)])
        } else {
            questions = try QuestionAnsweringReader.load(path: path)
        }
        let answers = try runner.answer(
            questions, model: model, maxLength: maxLength, stride: docStride, maxAnswerLength: maxAnswerLength,
            batchSize: batchSize, source: path)
        for p in answers {
            let a = p.answer
            sink.write(
                "{\"score\":\(JSONLines.number(Float(a.score))),\"start\":\(a.start),\"end\":\(a.end),\"answer\":\(JSONLines.string(a.text)),"
                    + "\"start_logits\":[\(p.startLogits.map(JSONLines.array).joined(separator: ","))],"
                    + "\"end_logits\":[\(p.endLogits.map(JSONLines.array).joined(separator: ","))]}")
        }
        try sink.finish()
    }
}
