import Foundation
import Testing
import Tokenizers
@testable import Datasets

@Suite("The committed Rotten Tomatoes data")
struct RealDataTests {
    @Test("train.jsonl loads: 9,596 rows, labels 0/1, balanced")
    func train() throws {
        let path = DS.rottenTomatoes.appendingPathComponent("train.jsonl").path
        let d = try LabeledDataset.load(path: path)
        // This is the project's 90 % split of Pang & Lee's 10,662 snippets (see its README), not
        // HF `rotten_tomatoes`' 8,530-row train split.
        #expect(d.count == 9_596)
        let map = LabelMap.derive(from: d)
        #expect(map.names == ["0", "1"])
        #expect(d.examples.filter { $0.label == "1" }.count == 4_798)
        #expect(d.lines.first == 1 && d.lines.last == 9_596)
        #expect(d.examples[0].text == "collateral damage is trash , but it earns extra points by acting as if it weren't .")
    }

    @Test("test.jsonl tokenizes with roberta-base at max_length 100, and batches pad to the longest")
    func tokenizeTest() throws {
        let path = DS.rottenTomatoes.appendingPathComponent("test.jsonl").path
        let d = try LabeledDataset.load(path: path)
        #expect(d.count == 1_066)
        let tokenizer = try DS.tokenizer("roberta-base")
        let t = try TokenizedDataset(dataset: d, tokenizer: tokenizer, labelMap: LabelMap.derive(from: d))
        #expect(t.count == 1_066)
        #expect(t.ids.allSatisfy { $0.count <= 100 && $0.first == 0 && $0.last == 2 })
        #expect(t.ids[5] == tokenizer.encode(d.examples[5].text, options: EncodeOptions(maxLength: 100, truncation: true)).ids)
        var sampler = BatchSampler(count: t.count, batchSize: 32, seed: 42)
        let indices = sampler.next()
        let b = t.batch(indices, padId: tokenizer.padTokenId)
        #expect(b.sequenceLength == indices.map { t.ids[$0].count }.max())
        #expect(b.sequenceLength < 100)
    }
}
