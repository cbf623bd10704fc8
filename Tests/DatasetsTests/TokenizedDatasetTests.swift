import Foundation
import Testing
import Tokenizers
@testable import Datasets

@Suite("Tokenized datasets and padded batches")
struct TokenizedDatasetTests {
    static let texts = [
        "A fine film.", "", "an utterly, painfully, exhaustively long review that keeps going on and on about nothing at all",
        "Café naïve — 😀 <mask> [SEP]", "short",
    ]

    static func dataset(pairs: Bool = false) -> LabeledDataset {
        LabeledDataset(source: "mem.jsonl", examples: texts.enumerated().map { i, t in
            Example(text: t, textPair: pairs ? "second text number \(i)" : nil, label: i % 2 == 0 ? "pos" : "neg")
        })
    }

    @Test("Ids equal the tokenizer's own encode with truncation", arguments: ["roberta-base", "minilm"], [8, 100])
    func matchesEncode(name: String, maxLength: Int) throws {
        let tokenizer = try DS.tokenizer(name)
        let data = Self.dataset()
        let map = LabelMap.derive(from: data)
        let t = try TokenizedDataset(dataset: data, tokenizer: tokenizer, labelMap: map, maxLength: maxLength)
        let options = EncodeOptions(maxLength: maxLength, truncation: true)
        #expect(t.count == Self.texts.count)
        #expect(t.ids == Self.texts.map { tokenizer.encode($0, options: options).ids })
        #expect(t.labels == [1, 0, 1, 0, 1])
        #expect(t.ids.allSatisfy { $0.count <= maxLength })
        #expect(t.maxLength == maxLength)
        if tokenizer.usesTokenTypeIds {
            #expect(t.typeIds == Self.texts.map { tokenizer.encode($0, options: options).typeIds })
        } else {
            #expect(t.typeIds == nil)
        }
    }

    @Test("Pairs, and a mix of pairs and single texts", arguments: ["roberta-base", "minilm"])
    func pairs(name: String) throws {
        let tokenizer = try DS.tokenizer(name)
        var examples = Self.dataset(pairs: true).examples
        examples[1].textPair = nil
        let data = LabeledDataset(source: "mem", examples: examples)
        let t = try TokenizedDataset(dataset: data, tokenizer: tokenizer, labelMap: LabelMap.derive(from: data), maxLength: 12)
        let options = EncodeOptions(maxLength: 12, truncation: true)
        let expected = examples.map { tokenizer.encode($0.text, pair: $0.textPair, options: options) }
        #expect(t.ids == expected.map(\.ids))
        if tokenizer.usesTokenTypeIds {
            #expect(t.typeIds == expected.map(\.typeIds))
            #expect(t.typeIds?[0].contains(1) == true)
        }
    }

    @Test("Default max_length is 100")
    func defaultMaxLength() throws {
        let long = String(repeating: "word ", count: 300)
        let data = LabeledDataset(source: "mem", examples: [Example(text: long, label: "a")])
        let t = try TokenizedDataset(dataset: data, tokenizer: try DS.tokenizer("roberta-base"), labelMap: LabelMap(names: ["a"]))
        #expect(TokenizedDataset.defaultMaxLength == 100)
        #expect(t.ids[0].count == 100)
        #expect(t.ids[0].last == 2)  // </s> kept after truncation
    }

    @Test("A label the head does not know names the file and line")
    func labelOutsideHead() throws {
        let path = try DS.write("{\"text\": \"a\", \"label\": 0}\n\n{\"text\": \"b\", \"label\": 7}\n", name: "h.jsonl")
        defer { DS.remove(path) }
        let data = try LabeledDataset.load(path: path)
        #expect(throws: DatasetError.labelOutsideHead(file: path, line: 3, label: "7")) {
            try TokenizedDataset(dataset: data, tokenizer: try DS.tokenizer("minilm"), labelMap: LabelMap(names: ["0", "1"]))
        }
        let error = DatasetError.labelOutsideHead(file: path, line: 3, label: "7")
        #expect(error.description.hasPrefix("\(path):3:"))
    }

    static let small = TokenizedDataset(ids: [[0, 5, 6, 2], [0, 7, 2], [0, 8, 9, 10, 11, 2]],
                                        typeIds: [[0, 0, 0, 0], [0, 0, 0], [0, 0, 0, 1, 1, 1]],
                                        labels: [1, 0, 1], maxLength: 8)

    @Test("Longest padding pads to the batch's longest sequence, in the given order")
    func longest() {
        let b = Self.small.batch([1, 0], padId: 1)
        #expect(b.batchSize == 2)
        #expect(b.sequenceLength == 4)
        #expect(b.inputIds == [0, 7, 2, 1, 0, 5, 6, 2])
        #expect(b.attentionMask == [1, 1, 1, 0, 1, 1, 1, 1])
        #expect(b.tokenTypeIds == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(b.labels == [0, 1])
        #expect(b.lengths == [3, 4])
        let all = Self.small.batch([2, 1, 0], padId: 1)
        #expect(all.sequenceLength == 6)
        #expect(all.tokenTypeIds?[3..<6] == [1, 1, 1])
    }

    @Test("max_length padding", arguments: [(nil, 8), (10, 10), (3, 4)] as [(Int?, Int)])
    func maxLength(requested: Int?, expected: Int) {
        let b = Self.small.batch([0, 1], padId: 1, padding: .maxLength, maxLength: requested)
        #expect(b.sequenceLength == expected)  // never shorter than the longest row
        #expect(b.inputIds.count == 2 * expected)
        #expect(Array(b.inputIds[expected..<(expected + 3)]) == [0, 7, 2])
        #expect(b.inputIds[(expected + 3)...].allSatisfy { $0 == 1 })
        #expect(b.lengths == [4, 3])
    }

    @Test("Batches from a real tokenizer match encodeBatch's own longest padding")
    func realBatch() throws {
        let tokenizer = try DS.tokenizer("minilm")
        let data = Self.dataset()
        let t = try TokenizedDataset(dataset: data, tokenizer: tokenizer, labelMap: LabelMap.derive(from: data), maxLength: 16)
        let b = t.batch([0, 1, 2, 3, 4], padId: tokenizer.padTokenId)
        let reference = tokenizer.encodeBatch(Self.texts, options: EncodeOptions(maxLength: 16, truncation: true, padding: .longest))
        #expect(b.inputIds == reference.flatMap(\.ids))
        #expect(b.attentionMask == reference.flatMap(\.attentionMask))
        #expect(b.tokenTypeIds == reference.flatMap(\.typeIds))
        let fixed = t.batch([0, 1], padId: tokenizer.padTokenId, padding: .maxLength)
        let reference16 = tokenizer.encodeBatch(Array(Self.texts.prefix(2)),
                                                options: EncodeOptions(maxLength: 16, truncation: true, padding: .maxLength))
        #expect(fixed.inputIds == reference16.flatMap(\.ids))
        #expect(fixed.attentionMask == reference16.flatMap(\.attentionMask))
    }

    @Test("An empty batch")
    func empty() {
        let b = Self.small.batch([], padId: 1)
        #expect(b.batchSize == 0 && b.sequenceLength == 0 && b.inputIds.isEmpty && b.labels.isEmpty)
    }
}
