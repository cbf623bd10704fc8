import Foundation

/// Throughput measurement used by the gated benchmark test and by tools; not a test itself.
///
/// Mirrors `tools/bench_tokenize.py`: with `threads == 1` each text is encoded by its own
/// `encode` call on the calling thread (HF: one `encode` per sentence with
/// `RAYON_NUM_THREADS=1`); otherwise one `encodeBatch` over all texts (HF: `encode_batch`).
/// Special tokens are added and counted, no truncation or padding.
public enum TokenizerBenchmark {
    /// One measurement.
    public struct Result: Sendable, CustomStringConvertible {
        public var seconds: Double
        /// Ids produced, special tokens included.
        public var tokens: Int
        public var sentences: Int
        /// UTF-8 bytes of the input texts.
        public var bytes: Int

        public var tokensPerSecond: Double { Double(tokens) / seconds }
        public var sentencesPerSecond: Double { Double(sentences) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }

        public var description: String {
            String(format: "%.3f s, %d sentences (%.0f/s), %d tokens (%.3f M/s), %.2f MB/s",
                   seconds, sentences, sentencesPerSecond, tokens, tokensPerSecond / 1e6, megabytesPerSecond)
        }
    }

    /// Encodes `texts` once and returns the wall time and the number of ids produced.
    public static func run(tokenizer: Tokenizer, texts: [String], threads: Int) -> (seconds: Double, tokens: Int) {
        let r = measure(tokenizer: tokenizer, texts: texts, threads: threads)
        return (r.seconds, r.tokens)
    }

    /// Like `run`, with sentence and byte counts for rates.
    public static func measure(tokenizer: Tokenizer, texts: [String], threads: Int) -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        var tokens = 0
        if threads <= 1 {
            for text in texts { tokens += tokenizer.encode(text).ids.count }
        } else {
            for e in tokenizer.encodeBatch(texts, threads: threads) { tokens += e.ids.count }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        return Result(seconds: seconds, tokens: tokens, sentences: texts.count, bytes: bytes)
    }
}
