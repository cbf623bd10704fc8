import Foundation
import Testing
import Tokenizers

@Suite("Batch encoding")
struct BatchTests {
    @Test("encodeBatch equals per-item encode", arguments: ["roberta-base", "minilm"], [1, 2, 7])
    func batchEqualsSingle(name: String, threads: Int) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        let texts = try #require(Fixtures.texts)
        let all = texts.hard + Array(texts.corpus.prefix(500))
        let pairs = all.reversed().map { String($0.prefix(40)) }
        for options in [EncodeOptions(), EncodeOptions(maxLength: 24, truncation: true, padding: .maxLength),
                        EncodeOptions(addSpecialTokens: false)] {
            let batch = tokenizer.encodeBatch(all, options: options, threads: threads)
            #expect(batch == all.map { tokenizer.encode($0, options: options) })
            let pairBatch = tokenizer.encodeBatch(all, pairs: pairs, options: options, threads: threads)
            #expect(pairBatch == zip(all, pairs).map { tokenizer.encode($0, pair: $1, options: options) })
        }
    }

    @Test("longest padding pads to the longest item of the batch")
    func longestPadding() throws {
        let tokenizer = try Fixtures.tokenizer("roberta-base")
        let texts = ["a", "a somewhat longer sentence here", ""]
        let batch = tokenizer.encodeBatch(texts, options: EncodeOptions(padding: .longest))
        let longest = texts.map { tokenizer.encode($0).count }.max()
        #expect(batch.allSatisfy { $0.count == longest })
        #expect(batch[0].ids.suffix(3) == [1, 1, 1])
        #expect(batch[0].attentionMask.suffix(3) == [0, 0, 0])
        #expect(tokenizer.encodeBatch([]).isEmpty)
        // A single encode has nothing to be longest against.
        #expect(tokenizer.encode("a", options: EncodeOptions(padding: .longest)) == tokenizer.encode("a"))
    }
}
