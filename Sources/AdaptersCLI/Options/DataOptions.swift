import ArgumentParser
import Datasets

/// How labelled data files are read (`train`, `evaluate`).
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data format: jsonl, csv, tsv or amazon_polarity (default: by file extension).")
    var format: DatasetFormat?

    @Option(name: .long, help: "Field (JSONL) or column (CSV/TSV) holding the text.")
    var textField = "text"

    @Option(name: .long, help: "Field or column holding a second text (pairs).")
    var textPairField: String?

    @Option(name: .long, help: "Field or column holding the label (an integer or a name).")
    var labelField = "label"

    @Flag(name: .long, help: "Amazon polarity: use title + content as the text (default: content only).")
    var amazonTitle = false

    @Option(name: .long, help: "Tokens per example, special tokens included; longer texts are truncated.")
    var maxLength = 100

    var options: DatasetOptions {
        var o = DatasetOptions()
        o.format = format
        o.textField = textField
        o.textPairField = textPairField
        o.labelField = labelField
        o.amazonTitle = amazonTitle
        return o
    }
}

extension DatasetFormat: ExpressibleByArgument {}
