import ArgumentParser
import Datasets
import Foundation

/// How labelled data files are read (`train`, `evaluate`).
struct DataOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Data format: jsonl, csv, tsv, amazon_polarity, parquet or conll (default: by file extension; .conll/.iob are CoNLL).")
    var format: DatasetFormat?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "What the labels are: classification, regression, multilabel_classification, tagging, multiple_choice or question_answering.",
            discussion: "regression: a number per example (JSONL/CSV/TSV); multilabel_classification: a JSON array of label names per example; tagging: JSONL with a word array (--text-field, default tokens) and a tag array (--label-field, default tags), or a CoNLL file; multiple_choice: JSONL with a context (--text-field), an array of choices (--choices-field) and the index of the right one (--label-field); question_answering: SQuAD JSON (v1.1 or v2.0) or JSON lines with question, context and answers ({\"text\": [...], \"answer_start\": [...]}), cut into windows of --max-length tokens overlapping by --doc-stride."
        ))
    var task: DatasetTask = .classification

    @Option(
        name: .long,
        help: "Field (JSONL) or column (CSV/TSV/Parquet) holding the text (amazon_polarity's Parquet: content). Default text; tokens for tagging.")
    var textField: String?

    @Option(name: .long, help: "Field or column holding a second text (pairs).")
    var textPairField: String?

    @Option(name: .long, help: "Multiple choice: the JSONL field holding the array of choices.")
    var choicesField = "choices"

    @Option(
        name: .long,
        help: "Field or column holding the label (an integer or a name; a number for regression; an array for multi-label and tagging). Default label; tags for tagging.")
    var labelField: String?

    /// The text field, by task when not given.
    var resolvedTextField: String { textField ?? (task == .tagging ? "tokens" : "text") }
    /// The label field, by task when not given.
    var resolvedLabelField: String { labelField ?? (task == .tagging ? "tags" : "label") }

    @Flag(name: .long, help: "Amazon polarity (CSV, or Parquet's title column): use title + text (default: the text only).")
    var amazonTitle = false

    @Option(name: .long, help: "Tokens per example, special tokens included; longer texts are truncated.")
    var maxLength = 100

    @Option(
        name: .long,
        help: "Question answering: context tokens shared by consecutive windows of a long context (default: half of --max-length, at most 128, as transformers' pipeline).")
    var docStride: Int?

    /// `--doc-stride`, or transformers' pipeline default `min(max_length / 2, 128)`.
    var resolvedDocStride: Int { docStride ?? min(maxLength / 2, 128) }

    @Option(name: .long, help: "Use only the first N examples.")
    var maxExamples: Int?

    @Option(
        name: .long,
        help: "Folder of the tokenized-dataset cache for Parquet data (default: $ADAPTERS_CACHE/tokens, else ~/.cache/swift-adapters/tokens).")
    var tokenCache: String?

    var tokenCacheDirectory: URL {
        if let tokenCache { return URL(fileURLWithPath: tokenCache) }
        let env = ProcessInfo.processInfo.environment
        if let root = env["ADAPTERS_CACHE"] { return URL(fileURLWithPath: root).appendingPathComponent("tokens") }
        let base = env["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("swift-adapters/tokens")
    }

    func validate() throws {
        if let maxExamples, maxExamples < 1 { throw ValidationError("--max-examples must be at least 1") }
        if let docStride, docStride < 0 || docStride >= maxLength {
            throw ValidationError("--doc-stride must be at least 0 and below --max-length (\(maxLength))")
        }
        if task == .tagging && textPairField != nil {
            throw ValidationError("--text-pair-field does not apply to tagging (its examples are word lists)")
        }
    }

    var options: DatasetOptions {
        var o = DatasetOptions()
        o.format = format
        o.textField = resolvedTextField
        o.textPairField = textPairField
        o.labelField = resolvedLabelField
        o.amazonTitle = amazonTitle
        o.task = task
        o.choicesField = choicesField
        return o
    }
}

extension DatasetFormat: ExpressibleByArgument {}
extension DatasetTask: ExpressibleByArgument {}
