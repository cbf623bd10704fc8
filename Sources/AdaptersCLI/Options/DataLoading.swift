import ArgumentParser
import Datasets
import Foundation
import Inference
import Tokenizers

/// Labelled data for `train` and `evaluate`: small files (JSONL, CSV, TSV, Amazon CSV) are read
/// and tokenized in memory; Parquet files of single-label classification stream one row group at a time into the
/// on-disk token cache, which later runs reuse; Parquet files of the other tasks (the Hub's layouts for
/// tagging, regression, multi-label, multiple choice and SQuAD) are read into memory.
final class LabelledData {
    let sources: [String]
    let options: DataOptions
    private var loaded: LabeledDataset?

    init(sources: [String], options: DataOptions) {
        self.sources = sources
        self.options = options
    }

    var isParquet: Bool {
        options.format == .parquet
            || (options.format == nil && sources.allSatisfy { DatasetFormat.inferred(fromPath: $0) == .parquet })
    }

    var parquet: ParquetExamples {
        ParquetExamples(
            files: sources.map { URL(fileURLWithPath: $0) }, textColumn: options.resolvedTextField,
            titleColumn: options.amazonTitle ? "title" : nil, textPairColumn: options.textPairField,
            labelColumn: options.resolvedLabelField, limit: options.maxExamples)
    }

    /// The labels the data holds: ClassLabel names or distinct values (Parquet reads only the label
    /// column), as `LabelMap.derive` orders them.
    func labelMap() throws -> LabelMap {
        if options.task == .questionAnswering { return LabelMap(names: ["start", "end"]) }
        if isParquet && options.task == .classification { return try parquet.labelMap() }
        return LabelMap.derive(from: try loadFile())
    }

    func loadFile() throws -> LabeledDataset {
        if let loaded { return loaded }
        if isParquet && options.task != .classification {
            let examples = try parquet.taskExamples(options.task, choicesColumn: options.choicesField)
            let dataset = LabeledDataset(source: sources.joined(separator: ", "), format: .parquet, examples: examples)
            loaded = dataset
            return dataset
        }
        guard sources.count == 1, let path = sources.first else {
            throw ValidationError("several data files are read as Parquet only")
        }
        var dataset = try LabeledDataset.load(path: path, options: options.options)
        if let limit = options.maxExamples, limit < dataset.count {
            dataset = LabeledDataset(
                source: dataset.source, format: dataset.format, examples: Array(dataset.examples.prefix(limit)),
                lines: Array(dataset.lines.prefix(limit)))
        }
        loaded = dataset
        return dataset
    }

    func tokenized(tokenizer: Tokenizer, modelFolder: URL, labelMap: LabelMap) throws -> TokenizedDataset {
        if options.task == .questionAnswering {
            var examples: [QuestionAnsweringExample]
            if isParquet {
                examples = try ParquetExamples.questionAnsweringExamples(
                    files: sources.map { URL(fileURLWithPath: $0) }, limit: options.maxExamples)
            } else {
                guard sources.count == 1, let path = sources.first else {
                    throw ValidationError("question answering reads one SQuAD JSON or JSON-lines file, or Parquet files")
                }
                examples = try QuestionAnsweringReader.load(path: path)
            }
            if let limit = options.maxExamples { examples = Array(examples.prefix(limit)) }
            return try TokenizedDataset(
                questionAnswering: examples, tokenizer: tokenizer, source: sources.joined(separator: ", "),
                maxLength: options.maxLength, stride: options.resolvedDocStride)
        }
        guard isParquet && options.task == .classification else {
            return try TokenizedDataset(
                dataset: try loadFile(), tokenizer: tokenizer, task: options.task, labelMap: labelMap,
                maxLength: options.maxLength)
        }
        let files = [
            "tokenizer.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer_config.json",
            "special_tokens_map.json",
        ]
        .map { modelFolder.appendingPathComponent($0) }
        let progress = ProgressLine(label: "tokenizing \(sources.count == 1 ? sources[0] : "\(sources.count) files")")
        let (dataset, reused) = try TokenizedDataset.cached(
            parquet, tokenizer: tokenizer, tokenizerFingerprint: TokenCache.fingerprint(files: files),
            labelMap: labelMap,
            maxLength: options.maxLength, cacheDirectory: options.tokenCacheDirectory,
            progress: { progress.update($0, of: $1) })
        progress.finish()
        logger.info(
            "\(reused ? "reusing the token cache" : "tokenized into the cache") in \(options.tokenCacheDirectory.path): \(dataset.count) examples, \(dataset.tokenCount) tokens"
        )
        return dataset
    }
}

/// `label 123/456 (27 %)` redrawn in place on a terminal, silent otherwise.
final class ProgressLine {
    let label: String
    private let interactive = isatty(fileno(stderr)) != 0
    private var lastDraw = 0.0
    private var drawn = false

    init(label: String) {
        self.label = label
    }

    func update(_ done: Int, of total: Int) {
        guard interactive else { return }
        let now = Date().timeIntervalSince1970
        guard now - lastDraw > 0.2 || done == total else { return }
        lastDraw = now
        drawn = true
        let percent = total > 0 ? 100 * done / total : 0
        FileHandle.standardError.write(Data("\r\(label): \(done)/\(total) (\(percent) %) ".utf8))
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
