/// One labelled training example, as read from a dataset file.
///
/// The label keeps its raw string form (`"1"`, `"positive"`); a ``LabelMap`` turns it into a class
/// id when the dataset is tokenized.
public struct Example: Sendable, Equatable {
    /// The (first) text.
    public var text: String
    /// The second text of a pair task (`--text-pair-field`), or nil.
    public var textPair: String?
    /// The label in its raw string form: a JSON integer is written in decimal (`1` → `"1"`); a
    /// regression target as its number (`"3.8"`). Empty for multi-label and tagging examples.
    public var label: String
    /// Multi-label: the example's labels (possibly none). Tagging: one tag per word of `words`.
    public var labels: [String]
    /// Tagging: the pre-split words (`text` holds them joined by spaces, for display).
    public var words: [String]?
    /// Multiple choice: the choices, each paired with `text` (the context or question); `label` is the index
    /// of the right one.
    public var choices: [String]?

    public init(
        text: String, textPair: String? = nil, label: String, labels: [String] = [], words: [String]? = nil,
        choices: [String]? = nil
    ) {
        self.text = text
        self.textPair = textPair
        self.label = label
        self.labels = labels
        self.words = words
        self.choices = choices
    }

    /// A tagging example: words with one tag each.
    public init(words: [String], tags: [String]) {
        self.init(text: words.joined(separator: " "), label: "", labels: tags, words: words)
    }
}

/// What a dataset's labels are, which decides how they are read and what a head learns from them.
public enum DatasetTask: String, Sendable, Codable, CaseIterable {
    /// One class per example (a string or integer label).
    case classification
    /// One real number per example (a JSON number, or a CSV/TSV field that parses as one).
    case regression
    /// Any number of classes per example: a JSON array of label names (strings or integers).
    case multilabelClassification = "multilabel_classification"
    /// One class per word: JSONL with a word array and a tag array of the same length, or a CoNLL file.
    case tagging
    /// Pick one of several choices: JSONL with a context (the text field), an array of choices and the
    /// index of the right one (SWAG/COPA-style); each choice becomes a (context, choice) pair.
    case multipleChoice = "multiple_choice"
    /// Extractive question answering: SQuAD JSON or JSON lines with a question, a context and answers
    /// (`QuestionAnsweringReader`); the answer is a span of the context.
    case questionAnswering = "question_answering"
}

/// The layout of a dataset file.
public enum DatasetFormat: String, Sendable, Codable, CaseIterable {
    /// One JSON object a line (`.jsonl`, `.ndjson`).
    case jsonl
    /// Comma-separated values, RFC 4180 quoting (`.csv`).
    case csv
    /// Tab-separated values, same quoting rules as CSV (`.tsv`).
    case tsv
    /// Amazon Reviews Polarity's own CSV: `"label","title","content"`, no header row, labels 1/2
    /// meaning negative/positive (Zhang, Zhao & LeCun 2015, as loaded by HF `amazon_polarity`).
    case amazonPolarity = "amazon_polarity"
    /// Apache Parquet (`.parquet`), as the Hub stores datasets: columns named by the text/label
    /// fields; read by ``ParquetExamples`` one row group at a time.
    case parquet
    /// CoNLL-2003 style token-per-line text (`.conll`, `.iob`): the word in the first column, its tag
    /// in the last, sentences separated by blank lines, `-DOCSTART-` lines skipped (tagging only).
    case conll

    /// The format implied by a file name's extension (`.jsonl`/`.ndjson`, `.csv`, `.tsv`), or nil.
    public static func inferred(fromPath path: String) -> DatasetFormat? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .csv
        case "tsv": return .tsv
        case "parquet": return .parquet
        case "conll", "iob": return .conll
        default: return nil
        }
    }
}

/// How ``LabeledDataset/load(path:options:)`` reads a file.
public struct DatasetOptions: Sendable {
    /// The file's layout; nil infers it from the extension (`.jsonl`/`.ndjson`, `.csv`, `.tsv`).
    /// Amazon Polarity files must be named explicitly (their `.csv` extension says nothing).
    public var format: DatasetFormat?
    /// JSONL field or CSV/TSV column holding the text. Without a header row, columns are named by
    /// their 0-based index (`"0"`, `"1"`, ...).
    public var textField: String
    /// JSONL field or CSV/TSV column holding the second text of a pair, or nil for single texts.
    public var textPairField: String?
    /// JSONL field or CSV/TSV column holding the label.
    public var labelField: String
    /// Amazon Polarity only: the text is `title + " " + content` (the title alone or the content
    /// alone when the other is empty) instead of the content alone.
    public var amazonTitle: Bool
    /// CSV/TSV only: the first row names the columns. Ignored for Amazon Polarity (never a header).
    public var hasHeader: Bool
    /// What the labels are (tagging reads `textField` as an array of words and `labelField` as their tags).
    public var task: DatasetTask
    /// Multiple choice: the JSONL field holding the array of choices.
    public var choicesField: String = "choices"

    public init(format: DatasetFormat? = nil, textField: String = "text", textPairField: String? = nil,
                labelField: String = "label", amazonTitle: Bool = false, hasHeader: Bool = true,
                task: DatasetTask = .classification) {
        self.format = format
        self.textField = textField
        self.textPairField = textPairField
        self.labelField = labelField
        self.amazonTitle = amazonTitle
        self.hasHeader = hasHeader
        self.task = task
    }
}
