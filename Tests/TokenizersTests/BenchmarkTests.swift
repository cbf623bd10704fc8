import Foundation
import Testing
import Tokenizers

/// Throughput on SST-2 train, comparable with `tools/bench_tokenize.py`. Runs only with
/// `RUN_BENCHMARKS=1` (and a release build for meaningful numbers); it asserts nothing about time.
@Suite("Benchmark")
struct BenchmarkTests {
    static let enabled = ProcessInfo.processInfo.environment["RUN_BENCHMARKS"] == "1"

    @Test(.enabled(if: BenchmarkTests.enabled))
    func sst2Throughput() throws {
        let path = ProcessInfo.processInfo.environment["SST2_TRAIN"] ?? "/work/shared/data/sst2/train.jsonl"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let texts: [String] = try data.split(separator: UInt8(ascii: "\n")).map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            return try #require(object?["text"] as? String)
        }
        let tokenizer = try Fixtures.tokenizer("roberta-base")
        // Warm-up pass: the first run fills the per-thread word caches, as HF's does.
        _ = TokenizerBenchmark.measure(tokenizer: tokenizer, texts: texts, threads: 1)
        let single = TokenizerBenchmark.measure(tokenizer: tokenizer, texts: texts, threads: 1)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        _ = TokenizerBenchmark.measure(tokenizer: tokenizer, texts: texts, threads: cores)  // warms worker caches
        let batch = TokenizerBenchmark.measure(tokenizer: tokenizer, texts: texts, threads: cores)
        print("BENCH roberta-base single-thread: \(single)")
        print("BENCH roberta-base encodeBatch \(cores) threads: \(batch)")
        let minilm = try Fixtures.tokenizer("minilm")
        _ = TokenizerBenchmark.measure(tokenizer: minilm, texts: texts, threads: 1)
        print("BENCH minilm single-thread: \(TokenizerBenchmark.measure(tokenizer: minilm, texts: texts, threads: 1))")
        #expect(single.tokens == batch.tokens)
    }
}
