import ArgumentParser
import Datasets
import Foundation

/// How labelled data files are read (`train`, `evaluate`).
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data format: jsonl, csv, tsv, amazon_polarity or parquet (default: by file extension).")
    var format: DatasetFormat?

    @Option(name: .long, help: "Field (JSONL) or column (CSV/TSV/Parquet) holding the text (amazon_polarity's Parquet: content).")
    var textField = "text"

    @Option(name: .long, help: "Field or column holding a second text (pairs).")
    var textPairField: String?

    @Option(name: .long, help: "Field or column holding the label (an integer or a name).")
    var labelField = "label"

    @Flag(name: .long, help: "Amazon polarity (CSV, or Parquet's title column): use title + text (default: the text only).")
    var amazonTitle = false

    @Option(name: .long, help: "Tokens per example, special tokens included; longer texts are truncated.")
    var maxLength = 100

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
    }

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
