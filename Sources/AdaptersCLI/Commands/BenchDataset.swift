import ArgumentParser
import Datasets
import Foundation
import Inference
import Tokenizers

/// Read + tokenize an Amazon-polarity-shaped Parquet file into the token cache, against pyarrow +
/// HF `tokenizers` (tools/bench_dataset.py) in the same sitting.
struct BenchDataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Parquet read + tokenize into the token cache (rows/s, peak RSS) vs pyarrow + HF tokenizers.",
        discussion: """
            Write the input first: .venv-bench/bin/python tools/make_parquet_fixtures.py --bench-rows 1000000 \
            (tools/out/amazon_polarity_like.parquet, 1 M rows, not committed). Ours runs first in this process \
            (so its peak RSS is its own), the baseline in a child process.
            """)

    @Option(name: .long, help: "Parquet file (label, title, content).")
    var parquet = "tools/out/amazon_polarity_like.parquet"

    @Option(name: .long, help: "Tokenizer folder.")
    var tokenizer = "../shared/models/roberta-base-tokenizer"

    @Option(name: .long) var maxLength = 100

    @OptionGroup var baseline: BaselineOptions

    func run() throws {
        guard FileManager.default.fileExists(atPath: parquet) else {
            throw ValidationError(
                "\(parquet) not found: write it with tools/make_parquet_fixtures.py --bench-rows 1000000")
        }
        let tok = try Tokenizer.load(from: URL(fileURLWithPath: tokenizer))
        let source = ParquetExamples(files: [URL(fileURLWithPath: parquet)], textColumn: "content")
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("adapters-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let start = Date()
        let (dataset, _) = try TokenizedDataset.cached(
            source, tokenizer: tok, tokenizerFingerprint: "bench", labelMap: try source.labelMap(),
            maxLength: maxLength,
            cacheDirectory: cache)
        let seconds = Date().timeIntervalSince(start)
        let rss = peakResidentMiB() ?? 0
        let rate = Double(dataset.count) / seconds
        print(
            String(
                format:
                    "ours: %d rows, %d tokens in %.2f s: %.0f rows/s, peak RSS %.0f MiB (into a memory-mapped token cache)",
                dataset.count, dataset.tokenCount, seconds, rate, rss))
        guard !baseline.noBaseline else { return }
        let py = try baseline.runJSON(
            baseline.baselinePython,
            [
                "tools/bench_dataset.py", "--parquet", parquet, "--tokenizer", tokenizer, "--max-length",
                String(maxLength),
            ])
        let pyRate = (py["rows_per_second"] as? NSNumber)?.doubleValue ?? 0
        let pyRSS = (py["peak_rss_mib"] as? NSNumber)?.doubleValue ?? 0
        print(
            String(
                format:
                    "pyarrow %@ + tokenizers %@: %@ rows, %@ tokens in %@ s: %.0f rows/s, peak RSS %.0f MiB → ours ×%.2f rows/s, ×%.2f RSS",
                "\(py["pyarrow"] ?? "?")", "\(py["tokenizers"] ?? "?")", "\(py["rows"] ?? "?")",
                "\(py["tokens"] ?? "?")",
                "\(py["seconds"] ?? "?")", pyRate, pyRSS, pyRate > 0 ? rate / pyRate : 0, pyRSS > 0 ? rss / pyRSS : 0))
    }
}
